// Copy buttons: <button data-copy-target="ID" hidden> copies the value (or text) of #ID.
// The button ships hidden and is shown here, so without JavaScript the page offers only the
// selectable text. Uses the Clipboard API where the page is a secure context, else falls back
// to selecting the text and document.execCommand("copy"), else leaves it selected for Ctrl+C.
(function () {
  "use strict";

  function textOf(element) {
    return "value" in element ? element.value : element.textContent;
  }

  function selectText(element) {
    if (typeof element.select === "function") {
      element.focus();
      element.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function fallbackCopy(element) {
    selectText(element);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function say(targetId, message) {
    var status = document.querySelector('[data-copy-status-for="' + targetId + '"]');
    if (status) {
      status.textContent = message;
    }
  }

  function copy(button) {
    var targetId = button.getAttribute("data-copy-target");
    var target = document.getElementById(targetId);
    if (!target) {
      return;
    }
    var copied = function () {
      button.textContent = "Copied";
      say(targetId, "Copied to the clipboard.");
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    var manual = function () {
      if (fallbackCopy(target)) {
        copied();
      } else {
        selectText(target);
        say(targetId, "Press Ctrl+C (⌘C on a Mac) to copy the selected key.");
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(textOf(target)).then(copied, manual);
    } else {
      manual();
    }
  }

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });
})();
