// A small lightbox: links marked .lightbox-trigger open their image in a modal <dialog>, with
// previous/next (buttons or arrow keys) through every such link on the page (the gallery
// adds more as it scrolls), Escape to close, and focus back on the image the viewer was
// opened from. Without it (or without <dialog>) the links simply open the full image.
(function () {
  "use strict";

  var dialog = document.getElementById("lightbox");
  if (!dialog || typeof dialog.showModal !== "function") return;

  var image = document.getElementById("lightbox-image");
  var caption = document.getElementById("lightbox-caption");
  var download = document.getElementById("lightbox-download");
  var triggers = [];
  var current = 0;
  var opener = null;

  function show(index) {
    current = (index + triggers.length) % triggers.length;
    var trigger = triggers[current];
    image.src = trigger.href;
    image.alt = trigger.querySelector("img").alt;
    caption.textContent = trigger.dataset.caption || "";
    download.href = trigger.dataset.download || trigger.href;
  }

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest(".lightbox-trigger");
    if (!trigger || event.defaultPrevented) return;
    // A modified click (new tab, new window) keeps its usual meaning.
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    triggers = Array.prototype.slice.call(document.querySelectorAll(".lightbox-trigger"));
    dialog.querySelectorAll(".lightbox-nav").forEach(function (button) {
      button.hidden = triggers.length < 2;
    });
    opener = trigger;
    show(triggers.indexOf(trigger));
    dialog.showModal();
    dialog.querySelector(".lightbox-close").focus();
  });

  dialog.addEventListener("click", function (event) {
    var control = event.target.closest("[data-lightbox]");
    var action = control ? control.dataset.lightbox : event.target === dialog ? "close" : "";
    if (action === "prev") show(current - 1);
    else if (action === "next") show(current + 1);
    else if (action === "close") dialog.close();
  });

  dialog.addEventListener("keydown", function (event) {
    if (event.key === "ArrowLeft") show(current - 1);
    else if (event.key === "ArrowRight") show(current + 1);
  });

  dialog.addEventListener("close", function () {
    if (opener) opener.focus();
  });
})();
