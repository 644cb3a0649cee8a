/* The counts beside the staff navigation's items (shared/templates/_staff_header.html): an
   item with data-waiting-url asks its service how much waits there for the person, e.g.
   notify's held messages beside "Messages" ({"waiting": 2}), and shows the number in its
   badge, the link then named "Messages, 2 waiting" for screen readers. The count is
   the service's own data, within what the person may release; when it cannot be had (a
   slow or failing service, a session that ended), the item simply shows no count. */
(function () {
  "use strict";

  var TIME_LIMIT_MS = 4000;

  function show(link, badge, waiting) {
    // The number is seen in the badge; the link's name says it in words.
    var label = link.firstElementChild ? link.firstElementChild.textContent : link.textContent;
    badge.textContent = String(waiting);
    badge.setAttribute("aria-hidden", "true");
    badge.hidden = false;
    link.setAttribute("aria-label", label.trim() + ", " + waiting + " waiting");
  }

  function fill(link) {
    var badge = link.querySelector("[data-waiting-count]");
    var url = link.getAttribute("data-waiting-url");
    if (!badge || !url || !window.fetch) {
      return;
    }
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, TIME_LIMIT_MS) : null;
    window
      .fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        redirect: "error",
        signal: controller ? controller.signal : undefined,
      })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        var waiting = answer ? answer.waiting : null;
        if (typeof waiting === "number" && waiting > 0 && Math.floor(waiting) === waiting) {
          show(link, badge, waiting);
        }
      })
      .catch(function () {
        /* No count: the item is still the link it was. */
      })
      .finally(function () {
        if (timer) {
          window.clearTimeout(timer);
        }
      });
  }

  document.querySelectorAll("a[data-waiting-url]").forEach(fill);
})();
