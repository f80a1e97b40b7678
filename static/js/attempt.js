// The test page: autosave of typed answers, the microphone recorder, and progress
// polling. Every form still works without this script except recording.
"use strict";

(function () {
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const root = document.getElementById("attempt");
  if (!root) return;
  const messages = root.dataset;
  // Seconds before an autosave that met no server or a 503 without Retry-After is sent again.
  const RETRY_S = 10;

  function post(url, body, onProgress) {
    return new Promise(function (resolve, reject) {
      const request = new XMLHttpRequest();
      request.open("POST", url);
      request.setRequestHeader("X-CSRFToken", csrfToken);
      request.setRequestHeader("Accept", "application/json");
      if (onProgress) {
        request.upload.addEventListener("progress", function (event) {
          if (event.lengthComputable) onProgress((100 * event.loaded) / event.total);
        });
      }
      request.onload = function () {
        let data = null;
        const type = request.getResponseHeader("Content-Type") || "";
        if (type.indexOf("application/json") >= 0) {
          try { data = JSON.parse(request.responseText); } catch (error) { data = null; }
        }
        if (request.status >= 200 && request.status < 300 && data) resolve(data);
        else if (request.status === 401 || !data) reject(new Error(messages.msgLoggedOut));
        else {
          const error = new Error(data.error || messages.msgFailedUpload + " (" + request.status + ")");
          // A 503 names the seconds to wait in Retry-After; the request may be sent again then.
          const seconds = Number(request.getResponseHeader("Retry-After"));
          if (request.status === 503) error.retryAfter = seconds > 0 ? seconds : RETRY_S;
          reject(error);
        }
      };
      request.onerror = function () {
        const error = new Error(messages.msgOffline);
        error.retryAfter = RETRY_S;
        reject(error);
      };
      request.send(body);
    });
  }

  // Typed answers: saved to the server two seconds after the last keystroke, and
  // kept in this browser until the server has them, so a lost connection, an
  // expired session or a closed tab loses nothing.
  document.querySelectorAll("[data-autosave-clear]").forEach(function (element) {
    window.localStorage.removeItem("frontline-" + element.dataset.autosaveClear);
  });

  document.querySelectorAll("form.text-answer").forEach(function (form) {
    const area = form.querySelector("textarea");
    const state = form.querySelector(".autosave-state");
    const counter = form.querySelector(".word-count");
    const key = "frontline-" + form.dataset.autosaveKey;
    let timer = null;

    function keep(text, unsaved) {
      window.localStorage.setItem(key, JSON.stringify({ text: text, unsaved: unsaved }));
    }

    function kept() {
      try { return JSON.parse(window.localStorage.getItem(key)); } catch (error) { return null; }
    }

    function countWords() {
      const words = area.value.trim().split(/\s+/).filter(Boolean).length;
      counter.textContent = words + " " + messages.msgWords;
    }

    function save() {
      const sent = area.value;
      state.textContent = messages.msgSaving;
      post(form.action, new FormData(form))
        .then(function () {
          if (area.value === sent) keep(sent, false);
          state.textContent = messages.msgSaved + " " + new Date().toLocaleTimeString();
        })
        .catch(function (error) {
          state.textContent = error.message + " " + messages.msgKeptLocally;
          // The text stays in localStorage; it is sent again once the server is back.
          if (error.retryAfter) {
            clearTimeout(timer);
            timer = setTimeout(save, error.retryAfter * 1000);
          }
        });
    }

    const entry = kept();
    if (entry && entry.unsaved && typeof entry.text === "string" && entry.text !== area.value) {
      area.value = entry.text;
      state.textContent = messages.msgRestored;
      timer = setTimeout(save, 500);
    }
    countWords();
    area.addEventListener("input", function () {
      keep(area.value, true);
      countWords();
      clearTimeout(timer);
      timer = setTimeout(save, 2000);
    });
    form.addEventListener("submit", function () {
      clearTimeout(timer);
      keep(area.value, true);
    });
  });

  // Recording: MediaRecorder chunks are joined in order into one file and sent as
  // a multipart file part, with the CSRF token in a header.
  document.querySelectorAll(".recorder").forEach(function (box) {
    if (!window.MediaRecorder || !navigator.mediaDevices) return;
    box.hidden = false;
    const record = box.querySelector(".record");
    const stop = box.querySelector(".stop");
    const send = box.querySelector(".send");
    const preview = box.querySelector(".preview");
    const timerText = box.querySelector(".timer");
    const progress = box.querySelector(".upload-progress");
    const state = box.querySelector(".recorder-state");
    const maxSeconds = Number(box.dataset.maxSeconds) || 120;
    let recorder = null;
    let chunks = [];
    let blob = null;
    let started = 0;
    let ticker = null;

    function pickType() {
      const types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"];
      return types.find(function (type) { return MediaRecorder.isTypeSupported(type); }) || "";
    }

    function tick() {
      const seconds = Math.floor((Date.now() - started) / 1000);
      timerText.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
      if (seconds >= maxSeconds) finish();
    }

    function finish() {
      if (recorder && recorder.state === "recording") recorder.stop();
    }

    record.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        const type = pickType();
        recorder = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
        chunks = [];
        recorder.addEventListener("dataavailable", function (event) {
          if (event.data && event.data.size > 0) chunks.push(event.data);
        });
        recorder.addEventListener("stop", function () {
          clearInterval(ticker);
          stream.getTracks().forEach(function (track) { track.stop(); });
          blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
          preview.src = URL.createObjectURL(blob);
          preview.hidden = false;
          send.hidden = false;
          record.disabled = false;
          stop.disabled = true;
          record.textContent = messages.msgRecordAgain;
          state.textContent = messages.msgRecorded;
        });
        recorder.start(1000);
        started = Date.now();
        ticker = setInterval(tick, 250);
        record.disabled = true;
        stop.disabled = false;
        send.hidden = true;
        state.textContent = messages.msgRecording;
      }).catch(function (error) {
        state.textContent = messages.msgNoMicrophone + " (" + error.name + ")";
      });
    });

    stop.addEventListener("click", finish);

    send.addEventListener("click", function () {
      if (!blob) return;
      const extension = blob.type.indexOf("mp4") >= 0 ? "m4a" : blob.type.indexOf("ogg") >= 0 ? "ogg" : "webm";
      const body = new FormData();
      body.append("audio", blob, "answer." + extension);
      send.disabled = true;
      record.disabled = true;
      progress.hidden = false;
      state.textContent = messages.msgUploading;
      post(box.dataset.uploadUrl, body, function (percent) { progress.value = percent; })
        .then(function () {
          state.textContent = messages.msgScoring;
          box.hidden = true;
          const upload = box.parentElement.querySelector("form.upload");
          if (upload) upload.hidden = true;
          poll();
        })
        .catch(function (error) {
          state.textContent = error.message;
          send.disabled = false;
          record.disabled = false;
        });
    });
  });

  // Progress: ask the server until no answer is waiting for its score. A waiting
  // answer keeps the spinner that the server rendered beside its status text.
  function showScoring(target) {
    const spinner = document.createElement("span");
    spinner.className = "spinner";
    spinner.setAttribute("aria-hidden", "true");
    target.replaceChildren(spinner, " " + messages.msgScoring);
  }

  let polling = false;
  function poll() {
    if (polling) return;
    polling = true;
    const step = function () {
      fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          let waiting = false;
          Object.keys(data.items).forEach(function (itemId) {
            const item = data.items[itemId];
            const target = root.querySelector('.response-status[data-item="' + itemId + '"]');
            if (!target) return;
            if (item.status === "submitted" || item.status === "processing") {
              waiting = true;
              if (!target.querySelector(".spinner")) showScoring(target);
            } else if (item.status === "scored") {
              target.textContent = "✓ " + messages.msgDone;
            } else if (item.status === "failed") {
              target.textContent = messages.msgCouldNotScore + " " + (item.error || "");
            }
          });
          if (waiting) setTimeout(step, 2000);
          else polling = false;
        })
        .catch(function () { setTimeout(step, 5000); });
    };
    step();
  }
  if (root.querySelector(".spinner")) poll();
})();
