// Disables the submit buttons of a form marked data-submit-once after its first
// submit, so that a double click sends one request. The server still rejects a
// repeated decision on its own.
(function () {
  "use strict";
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitted) {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "true";
      // Disable after the browser has read the form, so the button's own
      // name and value are still sent with this request.
      setTimeout(function () {
        form.querySelectorAll("button[type=submit], input[type=submit]").forEach(
          function (button) { button.disabled = true; }
        );
      }, 0);
    });
  });
})();
