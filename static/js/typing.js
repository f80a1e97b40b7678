// The typing test: records when each key that produces text was pressed, and
// every paste or drop, and sends that with the typed text. The server checks
// these figures for plausibility and measures the time on its own clock.
"use strict";

(function () {
  document.querySelectorAll("form.typing-test").forEach(function (form) {
    const area = form.querySelector("textarea");
    const measurements = form.querySelector('input[name$="measurements"]');
    const state = form.querySelector(".typing-state");
    const intervals = [];
    let keystrokes = 0;
    let pastes = 0;
    let first = null;
    let last = null;

    area.addEventListener("keydown", function (event) {
      if (event.isComposing) return;
      if (event.key.length !== 1 && event.key !== "Enter") return;
      const now = performance.now();
      if (first === null) first = now;
      if (last !== null) intervals.push(Math.round(now - last));
      last = now;
      keystrokes += 1;
    });

    function countPaste() {
      pastes += 1;
      state.textContent = form.dataset.msgPaste;
    }
    area.addEventListener("paste", countPaste);
    area.addEventListener("drop", countPaste);

    form.addEventListener("submit", function () {
      measurements.value = JSON.stringify({
        keystrokes: keystrokes,
        pastes: pastes,
        intervals: intervals,
        duration_ms: first === null ? 0 : Math.round(last - first),
      });
    });
    area.focus();
  });
})();
