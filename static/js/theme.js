// The colour theme: "auto" follows the system (prefers-color-scheme), "light" and "dark" are
// the user's choice, kept in localStorage. Loaded in <head> without defer so the page is
// painted in its theme from the start: <html data-scheme="light|dark"> is what the stylesheet
// reads. The toggle in the top bar cycles auto → light → dark.
(function () {
  "use strict";

  var KEY = "seedream-theme";
  var CHOICES = ["auto", "light", "dark"];
  var root = document.documentElement;
  var system = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function saved() {
    try {
      var value = window.localStorage.getItem(KEY);
      return CHOICES.indexOf(value) >= 0 ? value : "auto";
    } catch (error) {
      return "auto"; // storage refused (private mode, policy): follow the system
    }
  }

  function apply(choice) {
    var dark = choice === "dark" || (choice === "auto" && system !== null && system.matches);
    root.dataset.theme = choice;
    root.dataset.scheme = dark ? "dark" : "light";
  }

  apply(saved());
  if (system !== null && system.addEventListener) {
    system.addEventListener("change", function () { apply(saved()); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      function label() {
        var choice = saved();
        button.textContent = "Theme: " + choice;
        button.setAttribute("aria-label", "Colour theme: " + choice + ". Change it");
      }
      label();
      button.hidden = false;
      button.addEventListener("click", function () {
        var next = CHOICES[(CHOICES.indexOf(saved()) + 1) % CHOICES.length];
        try {
          window.localStorage.setItem(KEY, next);
        } catch (error) {
          // Not kept, but still applied to this page.
        }
        apply(next);
        label();
      });
    });
  });
})();
