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
});
