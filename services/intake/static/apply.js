// The proposal form (templates/apply.html). A file of its own: the pages' Content-Security-Policy
// runs no inline script (shared/security_headers.py).
(function () {
  // A second click while the first submission is on its way does nothing (the server also
  // ignores a repeated submission id).
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sending) { event.preventDefault(); return; }
      var button = event.submitter;
      if (button && button.value === "submit") { form.dataset.sending = "1"; }
    });
  });
  // After adding or removing a goal, the field the server names (data-focus) has the focus.
  document.querySelectorAll("form[data-focus]").forEach(function (form) {
    var target = document.getElementById(form.dataset.focus);
    if (target) { target.focus(); }
  });
})();
