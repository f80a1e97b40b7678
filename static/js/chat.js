// The simulated chat: keeps the newest message in view, focuses the reply box,
// and sends on Enter (Shift+Enter starts a new line). The form works without it.
"use strict";

(function () {
  const log = document.getElementById("chat-log");
  if (log) log.lastElementChild && log.lastElementChild.scrollIntoView({ block: "end" });
  const form = document.querySelector("form.chat-form");
  if (!form) return;
  const area = form.querySelector("textarea");
  area.focus();
  area.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (area.value.trim()) form.requestSubmit();
    }
  });
})();
