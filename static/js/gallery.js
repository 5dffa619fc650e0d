// The gallery's view of images: selection (tick a box, click tiles once something is
// selected, Shift-click for a range; on a focused tile Space toggles, the arrow keys move and
// Shift+arrow extends), the selection bar's confirmation before deleting, a tile's star and
// "add to board" without leaving the page, and the next page loaded as the viewer scrolls.
// Without it every part still works: the boxes and buttons are a plain form, "More images"
// a plain link.
(function () {
  "use strict";

  var container = document.getElementById("image-tiles");
  var form = document.getElementById("bulk-form");
  if (!container || !form) return;
  var count = document.getElementById("bulk-count");
  var clear = form.querySelector(".bulk-clear");
  var idle = count.innerHTML;
  var anchor = null;

  function tiles() {
    return Array.prototype.slice.call(container.querySelectorAll(".image-tile"));
  }

  function box(tile) {
    return tile.querySelector(".image-tile-select input");
  }

  function selected() {
    return tiles().filter(function (tile) { return box(tile).checked; });
  }

  function refresh() {
    var chosen = selected();
    tiles().forEach(function (tile) { tile.classList.toggle("is-selected", box(tile).checked); });
    container.classList.toggle("selecting", chosen.length > 0);
    clear.hidden = chosen.length === 0;
    if (!chosen.length) {
      count.innerHTML = idle;
      return;
    }
    count.textContent = chosen.length + " image" + (chosen.length === 1 ? "" : "s") + " selected";
  }

  function setRange(from, to, checked) {
    var all = tiles();
    var start = all.indexOf(from);
    var end = all.indexOf(to);
    if (start < 0 || end < 0) return;
    if (start > end) { var swap = start; start = end; end = swap; }
    for (var index = start; index <= end; index++) box(all[index]).checked = checked;
  }

  // One click on a tile or its box: toggle it, or with Shift, make the range from the last
  // tile clicked to this one like the last one.
  function choose(tile, shift, toggle) {
    if (shift && anchor && anchor !== tile && container.contains(anchor)) {
      setRange(anchor, tile, box(anchor).checked);
    } else if (toggle) {
      box(tile).checked = !box(tile).checked;
    }
    anchor = tile;
    refresh();
  }

  container.addEventListener("click", function (event) {
    var tile = event.target.closest(".image-tile");
    if (!tile) return;
    if (event.target.matches(".image-tile-select input")) {
      // The box has toggled itself already.
      choose(tile, event.shiftKey, false);
      return;
    }
    var open = event.target.closest(".image-tile-open");
    if (open && (event.shiftKey || container.classList.contains("selecting"))) {
      event.preventDefault();
      choose(tile, event.shiftKey, true);
    }
  });

  // The tile in the row above or below ``tile`` nearest to it sideways.
  function vertical(tile, direction) {
    var all = tiles();
    var box0 = tile.getBoundingClientRect();
    var middle = box0.left + box0.width / 2;
    var best = null;
    var bestScore = Infinity;
    all.forEach(function (other) {
      var rect = other.getBoundingClientRect();
      var below = rect.top >= box0.bottom - 1;
      var above = rect.bottom <= box0.top + 1;
      if ((direction > 0 && !below) || (direction < 0 && !above)) return;
      var score = Math.abs(rect.top - box0.top) * 10 + Math.abs(rect.left + rect.width / 2 - middle);
      if (score < bestScore) { bestScore = score; best = other; }
    });
    return best;
  }

  container.addEventListener("keydown", function (event) {
    var tile = event.target.closest(".image-tile");
    var onTile = event.target.matches(".image-tile-open, .image-tile-select input");
    if (!tile || !onTile) return;
    if (event.key === " " && event.target.matches(".image-tile-open")) {
      event.preventDefault();
      choose(tile, false, true);
      return;
    }
    var all = tiles();
    var index = all.indexOf(tile);
    var next = null;
    if (event.key === "ArrowRight") next = all[index + 1];
    else if (event.key === "ArrowLeft") next = all[index - 1];
    else if (event.key === "ArrowDown") next = vertical(tile, 1);
    else if (event.key === "ArrowUp") next = vertical(tile, -1);
    else return;
    event.preventDefault();
    if (!next) return;
    if (event.shiftKey) {
      if (!anchor || !container.contains(anchor)) {
        anchor = tile;
        box(tile).checked = true;
      }
      tiles().forEach(function (each) { box(each).checked = false; });
      setRange(anchor, next, true);
      refresh();
    }
    next.querySelector(".image-tile-open").focus();
  });

  clear.addEventListener("click", function () {
    tiles().forEach(function (tile) { box(tile).checked = false; });
    anchor = null;
    refresh();
  });

  // Delete asks once, in a dialog; the confirmed form is the one the plain page would send.
  var deleteDialog = document.getElementById("bulk-delete-dialog");
  var confirmField = document.getElementById("bulk-confirm");
  var pendingDelete = null;
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (!selected().length) {
      event.preventDefault();
      count.textContent = "Select at least one image first (tick its box).";
      return;
    }
    if (submitter && submitter.value === "delete" && confirmField.value !== "1"
        && deleteDialog && typeof deleteDialog.showModal === "function") {
      event.preventDefault();
      pendingDelete = submitter;
      var chosen = selected();
      var mine = chosen.filter(function (tile) { return tile.dataset.owned === "1"; });
      var generations = {};
      mine.forEach(function (tile) { generations[tile.dataset.generation] = true; });
      var groups = Object.keys(generations).length;
      document.getElementById("bulk-delete-title").textContent =
        "Delete " + mine.length + " image" + (mine.length === 1 ? "" : "s") + "?";
      document.getElementById("bulk-delete-text").textContent =
        "Each is deleted with its generation (" + groups + " in all), including any of its images you did not select. Your credits are not affected."
        + (chosen.length > mine.length ? " " + (chosen.length - mine.length) + " of the selected images are not yours and will be left as they are." : "");
      deleteDialog.showModal();
      deleteDialog.querySelector("[data-confirm=cancel]").focus();
    }
  });
  if (deleteDialog) {
    deleteDialog.addEventListener("click", function (event) {
      var choice = event.target.closest("[data-confirm]");
      if (!choice) return;
      deleteDialog.close();
      if (choice.dataset.confirm === "delete" && pendingDelete) {
        confirmField.value = "1";
        form.requestSubmit(pendingDelete);
      }
    });
  }

  // A tile's star, without reloading the page (the view answers htmx-style with a fragment).
  container.addEventListener("submit", function (event) {
    var starForm = event.target.closest(".image-tile-star-form");
    if (!starForm) return;
    event.preventDefault();
    var data = new FormData(starForm);
    fetch(starForm.action, { method: "POST", body: data, headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        var starred = data.get("starred") === "1";
        // Every tile of the generation: a star belongs to the generation.
        container.querySelectorAll('.image-tile[data-generation="' + starForm.closest(".image-tile").dataset.generation + '"]')
          .forEach(function (tile) {
            var each = tile.querySelector(".image-tile-star-form");
            each.querySelector("input[name=starred]").value = starred ? "0" : "1";
            var button = each.querySelector("button");
            button.setAttribute("aria-pressed", starred ? "true" : "false");
            button.title = starred ? "Unstar" : "Star";
            button.querySelector("[aria-hidden]").textContent = starred ? "★" : "☆";
            tile.classList.toggle("is-starred", starred);
          });
      })
      .catch(function () { starForm.submit(); });
  });

  // "Add to board" on a tile: one dialog for the page, aimed at the tile's image.
  var boardDialog = document.getElementById("board-dialog");
  if (boardDialog && typeof boardDialog.showModal === "function") {
    container.addEventListener("click", function (event) {
      var link = event.target.closest(".image-tile-board");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      document.getElementById("board-dialog-form").action = link.dataset.boardUrl;
      document.getElementById("board-dialog-output").value = link.closest(".image-tile").dataset.output;
      boardDialog.showModal();
      document.getElementById("board-dialog-board").focus();
    });
    boardDialog.addEventListener("click", function (event) {
      if (event.target.closest("[data-dialog-close]") || event.target === boardDialog) boardDialog.close();
    });
  }

  // The next page as the "More images" link comes into view.
  var loading = false;
  function loadMore(link) {
    if (loading) return;
    loading = true;
    fetch(link.href, { headers: { "X-Gallery-Fragment": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html;
        var fragment = template.content;
        fragment.querySelectorAll(".image-tile").forEach(function (tile) { container.appendChild(tile); });
        var more = document.getElementById("gallery-more");
        var nextMore = fragment.querySelector(".gallery-more");
        if (nextMore) more.replaceWith(nextMore); else more.remove();
        loading = false;
        watch();
      })
      .catch(function () { loading = false; });
  }

  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) loadMore(entry.target.querySelector("a"));
    });
  }, { rootMargin: "600px 0px" }) : null;

  function watch() {
    var more = document.getElementById("gallery-more");
    if (more && observer) {
      observer.disconnect();
      observer.observe(more);
    }
  }

  watch();
  refresh();
})();
