// Small conveniences only: every action works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // "Print" buttons: printing works from the browser menu too; this only adds a button.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  // Move focus to the error summary after a failed submission, so it is read first.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
  // A form is sent once: a second click while the first is on its way does nothing.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  });
});
// Coming back with the browser's Back button: forms can be sent again.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-sent]").forEach(function (form) { delete form.dataset.sent; });
});
