/* USWDS's character count writes its status in English ("500 characters allowed", "3
   characters left", "Character limit exceeded. 2 characters over limit"). On a page in
   another language (shared/templates/layout.html includes this script there), each status
   is rewritten in the page's words, which the layout gives this script from the catalog as
   data attributes with {count} for the number. */
(function () {
  "use strict";

  var words = document.currentScript ? document.currentScript.dataset : null;
  if (!words) {
    return;
  }
  var ENGLISH = /^(Character limit exceeded\. )?(\d+) (characters allowed|characters? left|characters? over limit)$/;

  function said(count, kind) {
    var pattern = {
      "characters allowed": words.allowed,
      "character left": words.left1,
      "characters left": words.left,
      "character over limit": words.over1,
      "characters over limit": words.over
    }[kind] || "";
    return pattern.replace("{count}", String(count));
  }

  function translate(element) {
    var found = ENGLISH.exec(element.textContent.trim());
    if (!found) {
      return;
    }
    var text = said(parseInt(found[2], 10), found[3]);
    if (!text) {
      return;
    }
    text = (found[1] ? words.exceeded + " " : "") + text;
    if (text !== element.textContent) {
      // (Unchanged words, as when the catalog lacks them, would set off the observer again.)
      element.textContent = text;
    }
  }

  function translateAll(root) {
    var statuses = root.querySelectorAll(
      ".usa-character-count__status, .usa-character-count__sr-status"
    );
    for (var i = 0; i < statuses.length; i += 1) {
      translate(statuses[i]);
    }
  }

  translateAll(document);
  new MutationObserver(function (changes) {
    for (var i = 0; i < changes.length; i += 1) {
      var target = changes[i].target;
      var element = target.nodeType === 1 ? target : target.parentElement;
      if (element && element.closest && element.closest(".usa-character-count")) {
        translateAll(element.closest(".usa-character-count"));
      }
    }
  }).observe(document.body, { childList: true, characterData: true, subtree: true });
})();
