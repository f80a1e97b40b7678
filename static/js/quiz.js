// The quiz attempt page: answers are saved to the server a moment after each
// change and kept in localStorage until the server has them, so a closed tab, a
// lost connection or an expired session loses nothing. The form also works
// without this script (the Save and Submit buttons post it).
"use strict";

(function () {
  const form = document.getElementById("quiz");
  if (!form) return;
  const messages = form.dataset;
  const storageKey = form.dataset.storageKey;
  const state = form.querySelector(".autosave-state");
  let timer = null;
  let retry = null;
  let closed = false;

  function snapshot() {
    const entries = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "attempt_token") entries.push([name, value]);
    });
    return entries;
  }

  function keepLocally() {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify({ at: Date.now(), entries: snapshot() }));
    } catch (error) { /* storage full or disabled: the server copy still counts */ }
  }

  function restore(entries) {
    const values = {};
    entries.forEach(function (entry) { (values[entry[0]] = values[entry[0]] || []).push(entry[1]); });
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || element.name === "attempt_token" || element.type === "submit") return;
      const given = values[element.name] || [];
      if (element.type === "checkbox" || element.type === "radio") {
        element.checked = given.indexOf(element.value) !== -1;
      } else if (given.length) {
        element.value = given[0];
      }
    });
  }

  // Each question's hidden "rev-q<id>" field contains the revision of its saved
  // answer that this page shows. The server rejects a change to a newer one.
  function setRevisions(revisions) {
    Object.keys(revisions || {}).forEach(function (questionId) {
      const field = form.elements.namedItem("rev-q" + questionId);
      if (field) field.value = revisions[questionId];
    });
  }

  // Show the newer answer that another tab saved, in place of this page's.
  function applyConflict(conflict) {
    const prefix = "q" + conflict.question_id;
    const values = {};
    conflict.fields.forEach(function (entry) { (values[entry[0]] = values[entry[0]] || []).push(entry[1]); });
    Array.prototype.forEach.call(form.elements, function (element) {
      if (element.name !== prefix && element.name.indexOf(prefix + "-") !== 0) return;
      const given = values[element.name] || [];
      if (element.type === "checkbox" || element.type === "radio") {
        element.checked = given.indexOf(element.value) !== -1;
      } else if (element.type !== "number" || given.length) {
        element.value = given.length ? given[0] : "";
      }
    });
  }

  function save() {
    if (closed) return;
    clearTimeout(retry);
    const body = new FormData(form);
    body.set("action", "autosave");
    state.textContent = messages.msgSaving;
    // The buttons named "action" shadow the form's action property, so read the
    // attribute.
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { status: response.status, data: data };
        });
      })
      .then(function (result) {
        if (result.status >= 200 && result.status < 300) {
          setRevisions(result.data.revisions);
          window.localStorage.removeItem(storageKey);
          state.textContent = result.data.logged_in === false
            ? messages.msgRelogin
            : messages.msgSaved + " " + new Date().toLocaleTimeString();
        } else if (result.status === 409 && result.data.conflicts) {
          result.data.conflicts.forEach(applyConflict);
          setRevisions(result.data.revisions);
          window.localStorage.removeItem(storageKey);
          state.textContent = result.data.error;
        } else if (result.status === 409) {
          closed = true;
          state.textContent = (result.data.error || messages.msgClosed);
          window.setTimeout(function () { window.location.reload(); }, 3000);
        } else {
          state.textContent = (result.data.error || "") + " " + messages.msgKept;
          retry = window.setTimeout(save, 15000);
        }
      })
      .catch(function () {
        state.textContent = messages.msgKept;
        retry = window.setTimeout(save, 10000);
      });
  }

  function changed() {
    keepLocally();
    clearTimeout(timer);
    timer = window.setTimeout(save, 1500);
  }

  const kept = window.localStorage.getItem(storageKey);
  if (kept) {
    try {
      restore(JSON.parse(kept).entries || []);
      state.textContent = messages.msgRestored;
      save();
    } catch (error) { window.localStorage.removeItem(storageKey); }
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function () { clearTimeout(timer); keepLocally(); });
  window.addEventListener("online", save);

  const clock = document.getElementById("timer");
  if (clock) {
    const deadline = Date.parse(clock.dataset.deadline);
    const tick = function () {
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      const minutes = Math.floor(left / 60);
      const seconds = String(left % 60).padStart(2, "0");
      clock.textContent = messages.msgRemaining + " " + minutes + ":" + seconds;
      if (left === 0) {
        window.clearInterval(interval);
        // The server closes the attempt with the answers saved before the deadline.
        window.setTimeout(function () { window.location.reload(); }, 1500);
      }
    };
    const interval = window.setInterval(tick, 1000);
    tick();
  }
})();
