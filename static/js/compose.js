// The compose form: shaped to the chosen model from the catalog the server embeds, with a
// drop zone for reference images (previews, removal) and the live price kept in step.
// Without this script the form still works: every control is a plain field and the server
// validates everything, so nothing here is a rule, only help.
(function () {
  "use strict";

  var form = document.getElementById("compose-form");
  var data = document.getElementById("catalog-data");
  if (!form || !data) return;

  var catalog = JSON.parse(data.textContent);
  var byId = {};
  catalog.forEach(function (model) { byId[model.id] = model; });
  // Each "Charge to" choice's catalog (what its wallet's policy allows), for someone in a team.
  var walletData = document.getElementById("wallet-catalogs");
  var walletCatalogs = walletData ? JSON.parse(walletData.textContent) : null;

  var modelSelect = form.elements.model;
  var sizeInput = form.elements.size;
  var aspectSelect = form.elements.aspect_ratio;
  var imagesInput = form.elements.num_images;
  var fileInput = form.elements.references;
  var uploadCount = document.getElementById("upload-count");
  var list = document.getElementById("reference-list");
  var slots = document.getElementById("reference-slots");
  var announcer = document.getElementById("reference-status");
  var rejected = document.getElementById("reference-rejected");
  var rejectedList = document.getElementById("reference-rejected-list");
  var sizeHelp = document.getElementById("size-help");
  var dropzone = document.getElementById("dropzone");
  var sizeChips = document.getElementById("size-chips");
  var sizeOptions = document.getElementById("size-options");
  var resolved = document.getElementById("size-resolved");
  var followsReference = document.getElementById("aspect-follows-reference");
  var caps = document.getElementById("model-caps");
  var note = document.getElementById("model-note");
  var maxUploadBytes = Number(dropzone.dataset.maxBytes || 0);
  var uploads = []; // the File objects chosen so far, in the order they will be sent

  function currentModel() {
    return byId[modelSelect.value];
  }

  function say(message) {
    announcer.textContent = "";
    // A fresh text node each time, so screen readers announce a repeated message too.
    window.setTimeout(function () { announcer.textContent = message; }, 30);
  }

  // The live price listens for "change" on the form (hx-trigger in workspace.html).
  function priceChanged() {
    form.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // Hidden fields are also disabled so they are not sent: a seed left in a hidden box would
  // otherwise come back as "this model does not take a seed".
  function showField(name, visible, disable) {
    var field = form.querySelector('[data-field="' + name + '"]');
    if (!field) return;
    field.classList.toggle("hidden", !visible);
    if (disable) {
      field.querySelectorAll("input, select, textarea").forEach(function (control) {
        if (control.type !== "hidden") control.disabled = !visible;
      });
    }
  }

  function keptCarried() {
    return form.querySelectorAll('input[name="carried_references"]:checked').length;
  }

  function referenceCount() {
    return keptCarried() + uploads.length;
  }

  function syncFiles() {
    var transfer = new DataTransfer();
    uploads.forEach(function (file) { transfer.items.add(file); });
    fileInput.files = transfer.files;
    uploadCount.value = String(uploads.length);
  }

  function updateSlots() {
    var model = currentModel();
    if (!model) return;
    var count = referenceCount();
    slots.textContent = model.max_references
      ? count + " of " + model.max_references + (model.min_references ? " · needs " + model.min_references : "")
      : "";
    dropzone.classList.toggle("full", count >= model.max_references);
    var outputsLeft = Math.max(1, Math.min(model.max_outputs, model.max_total_images - count));
    imagesInput.max = String(outputsLeft);
  }

  function renderUploads() {
    list.querySelectorAll(".ref-upload").forEach(function (chip) {
      URL.revokeObjectURL(chip.querySelector("img").src);
      chip.remove();
    });
    uploads.forEach(function (file, index) {
      var chip = document.createElement("li");
      chip.className = "ref-chip ref-upload";
      var image = document.createElement("img");
      image.src = URL.createObjectURL(file);
      image.alt = "";
      image.width = 72;
      image.height = 72;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "ref-remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", "Remove reference " + file.name);
      remove.addEventListener("click", function () {
        uploads.splice(index, 1);
        refreshReferences();
        say("Removed " + file.name + ".");
        var next = list.querySelector(".ref-remove") || fileInput;
        next.focus();
      });
      var name = document.createElement("span");
      name.className = "ref-name";
      name.textContent = file.name;
      chip.append(image, remove, name);
      list.append(chip);
    });
  }

  function refreshReferences() {
    syncFiles();
    renderUploads();
    updateSlots();
    applySizeHelp();
    priceChanged();
  }

  // Files not taken are listed beside the drop zone, each with its reason, until the next
  // choice of files; the live region says the same to a screen reader.
  function showRejected(problems) {
    rejectedList.replaceChildren.apply(rejectedList, problems.map(function (problem) {
      var item = document.createElement("li");
      item.textContent = problem;
      return item;
    }));
    rejected.hidden = problems.length === 0;
    // Not under the sticky price footer, where it would go unseen.
    if (problems.length) rejected.scrollIntoView({ block: "nearest" });
  }

  function addFiles(files) {
    var model = currentModel();
    var added = [];
    var problems = [];
    var megabytes = Math.round(maxUploadBytes / 1048576);
    Array.prototype.forEach.call(files, function (file) {
      if (!file.type || file.type.indexOf("image/") !== 0) {
        problems.push(file.name + ": not an image. Choose a PNG, JPEG or WebP file.");
      } else if (maxUploadBytes && file.size > maxUploadBytes) {
        problems.push(file.name + ": " + (file.size / 1048576).toFixed(1) + " MB, over the " + megabytes + " MB limit for a reference image.");
      } else if (model && referenceCount() >= model.max_references) {
        problems.push(file.name + ": " + (model.max_references
          ? model.label + " takes at most " + model.max_references + " reference image" + (model.max_references === 1 ? "" : "s") + "; remove one to add another."
          : model.label + " takes no reference images."));
      } else {
        uploads.push(file);
        added.push(file.name);
      }
    });
    refreshReferences();
    showRejected(problems);
    var message = added.length ? "Added " + added.join(", ") + "." : "";
    if (problems.length) message += " Not added: " + problems.join(" ");
    say(message.trim());
  }

  function applySizeHelp() {
    var model = currentModel();
    if (!model) return;
    var value = sizeInput.value.trim();
    var tier = value ? value.toUpperCase() : model.default_size.toUpperCase();
    sizeChips.querySelectorAll("button").forEach(function (chip) {
      chip.setAttribute("aria-pressed", String(chip.dataset.size.toUpperCase() === tier));
    });
    var aspect = aspectSelect.value || model.default_aspect_ratio;
    var dims = Object.keys(model.tier_dimensions).filter(function (key) { return key.toUpperCase() === tier; });
    // An edit with no aspect ratio chosen keeps the reference's shape (the catalog's rule).
    var keepsShape = model.image_to_image && referenceCount() > 0 && !aspectSelect.value;
    followsReference.hidden = !(keepsShape && model.aspect_ratios.length);
    if (dims.length && keepsShape) {
      resolved.textContent = dims[0] + " in the reference image's shape.";
    } else if (dims.length && model.tier_dimensions[dims[0]][aspect]) {
      resolved.textContent = dims[0] + (aspect ? " at " + aspect : "") + " → " + model.tier_dimensions[dims[0]][aspect].replace("x", "×") + " px";
    } else if (tier === "ADAPTIVE") {
      resolved.textContent = "The size follows the reference image.";
    } else if (/^\d+\s*[x×]\s*\d+$/i.test(value)) {
      resolved.textContent = "Exact size " + value.replace(/\s/g, "").replace(/x/i, "×") + " px.";
    } else if (!value && model.accepts_explicit_size && !model.size_tiers.length) {
      resolved.textContent = "Default " + model.default_size.replace("x", "×") + " px; any WIDTHxHEIGHT within the model's limits.";
    } else {
      resolved.textContent = "";
    }
  }

  function capability(text) {
    var item = document.createElement("li");
    item.textContent = text;
    return item;
  }

  function applyModel() {
    var model = currentModel();
    if (!model) return;
    note.textContent = model.description;
    sizeHelp.textContent = model.size_help || "";
    caps.replaceChildren();
    if (model.text_to_image) caps.append(capability("Text to image"));
    if (model.max_references) caps.append(capability("Up to " + model.max_references + " reference" + (model.max_references === 1 ? "" : "s")));
    if (model.max_outputs > 1) caps.append(capability("Up to " + model.max_outputs + " images"));
    if (model.supports_seed) caps.append(capability("Seed"));
    if (model.supports_guidance && model.guidance_range) caps.append(capability("Guidance " + model.guidance_range[0] + "–" + model.guidance_range[1]));

    sizeOptions.replaceChildren.apply(sizeOptions, model.size_tiers.map(function (tier) {
      var option = document.createElement("option");
      option.value = tier;
      return option;
    }));
    sizeChips.replaceChildren.apply(sizeChips, model.size_tiers.map(function (tier) {
      var chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.dataset.size = tier;
      chip.textContent = tier === "adaptive" ? "Adaptive" : tier;
      chip.addEventListener("click", function () {
        sizeInput.value = tier;
        applySizeHelp();
        priceChanged();
      });
      return chip;
    }));
    sizeChips.hidden = model.size_tiers.length < 2;
    sizeInput.placeholder = model.default_size;
    if (sizeInput.value && model.size_tiers.length && !model.accepts_explicit_size &&
        model.size_tiers.indexOf(sizeInput.value) === -1) {
      sizeInput.value = "";
    }

    Array.prototype.forEach.call(aspectSelect.options, function (option) {
      var allowed = option.value === "" || model.aspect_ratios.indexOf(option.value) !== -1;
      option.hidden = !allowed;
      option.disabled = !allowed;
      if (!allowed && option.selected) aspectSelect.value = "";
    });
    showField("aspect_ratio", model.aspect_ratios.length > 0, true);
    showField("seed", model.supports_seed, true);
    showField("guidance_scale", model.supports_guidance, true);
    showField("references", model.max_references > 0, true);
    if (model.guidance_range) {
      form.elements.guidance_scale.min = String(model.guidance_range[0]);
      form.elements.guidance_scale.max = String(model.guidance_range[1]);
      form.elements.guidance_scale.step = "0.1";
    }
    showField("num_images", model.max_outputs > 1, false);
    if (model.max_outputs <= 1) imagesInput.value = "1";
    updateSlots();
    if (Number(imagesInput.value) > Number(imagesInput.max)) imagesInput.value = imagesInput.max;
    applySizeHelp();
  }

  // --- Reference drop zone -------------------------------------------------------------
  dropzone.classList.add("enhanced");
  fileInput.addEventListener("change", function (event) {
    // The browser's own selection replaces the input's files; keep earlier picks too.
    event.stopPropagation();
    addFiles(Array.prototype.slice.call(fileInput.files));
  });
  ["dragenter", "dragover"].forEach(function (type) {
    dropzone.addEventListener(type, function (event) {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  });
  ["dragleave", "dragend", "drop"].forEach(function (type) {
    dropzone.addEventListener(type, function () { dropzone.classList.remove("dragging"); });
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) addFiles(event.dataTransfer.files);
  });

  // Kept references from an earlier generation: a remove button instead of the checkbox.
  list.querySelectorAll(".ref-carried").forEach(function (chip) {
    var box = chip.querySelector("input");
    chip.classList.add("enhanced");
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "ref-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", "Remove " + chip.querySelector(".visually-hidden").textContent);
    remove.addEventListener("click", function () {
      box.checked = false;
      chip.hidden = true;
      updateSlots();
      applySizeHelp();
      priceChanged();
      say("Reference removed.");
      fileInput.focus();
    });
    chip.append(remove);
    if (!box.checked) chip.hidden = true;
  });

  // --- Charge to and share with ------------------------------------------------------
  // A new wallet may allow other models and sizes: the model list is rebuilt from its
  // catalog before the price is asked for again (this listener runs before the form's).
  var chargeSelect = form.elements.charge_to;
  var shareSelect = form.elements.share_with;
  var visibilitySelect = form.elements.visibility;
  var shareTouched = false;

  function applyWallet() {
    var models = walletCatalogs && walletCatalogs[chargeSelect.value];
    if (!models) return;
    var previous = modelSelect.value;
    var previousLabel = byId[previous] ? byId[previous].label : previous;
    byId = {};
    models.forEach(function (model) { byId[model.id] = model; });
    modelSelect.replaceChildren.apply(modelSelect, models.map(function (model) {
      var option = document.createElement("option");
      option.value = model.id;
      option.textContent = model.label;
      return option;
    }));
    modelSelect.value = byId[previous] ? previous : (models.length ? models[0].id : "");
    applyModel();
    if (previous && !byId[previous]) {
      say("This wallet's policy does not allow " + previousLabel + "; the model is now " + (currentModel() ? currentModel().label : modelSelect.value) + ".");
    }
    if (shareSelect && !shareTouched) shareSelect.value = chargeSelect.value;
  }

  function applyVisibility() {
    if (shareSelect) showField("share_with", visibilitySelect.value === "team", false);
  }

  if (chargeSelect) chargeSelect.addEventListener("change", applyWallet);
  if (shareSelect) shareSelect.addEventListener("change", function () { shareTouched = true; });
  visibilitySelect.addEventListener("change", applyVisibility);
  applyVisibility();

  // --- Prompt length ------------------------------------------------------------------
  var prompt = form.elements.prompt;
  var counter = document.querySelector('[data-counter-for="' + prompt.id + '"]');
  var promptMax = counter ? Number(counter.dataset.max) : 0;

  function updateCounter() {
    if (!counter) return;
    var length = prompt.value.length;
    counter.textContent = length.toLocaleString("en") + " / " + promptMax.toLocaleString("en");
    counter.classList.toggle("near-limit", length >= promptMax * 0.9);
  }

  if (counter) {
    var described = (prompt.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(counter.id);
    prompt.setAttribute("aria-describedby", described.join(" "));
    prompt.addEventListener("input", updateCounter);
    updateCounter();
  }

  // --- Everything else -----------------------------------------------------------------
  modelSelect.addEventListener("change", applyModel);
  sizeInput.addEventListener("input", applySizeHelp);
  aspectSelect.addEventListener("change", applySizeHelp);
  form.elements.prompt.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  // After a submit on a narrow screen the new card is below the form: bring it into view
  // once, on the page the submit leads to (a plain "Reuse" link keeps the form in view).
  var submittedKey = "seedream:submitted";
  try {
    if (window.sessionStorage.getItem(submittedKey)) {
      window.sessionStorage.removeItem(submittedKey);
      var accepted = /[?&]reuse=/.test(window.location.search) && !form.querySelector(".errors");
      var newest = document.querySelector("#recent-cards .card");
      if (accepted && newest && window.matchMedia("(max-width: 900px)").matches) {
        newest.scrollIntoView({ block: "start" });
      }
    }
  } catch (error) { /* storage may be disabled; scrolling is only a convenience */ }

  form.addEventListener("submit", function () {
    try { window.sessionStorage.setItem(submittedKey, "1"); } catch (error) { /* see above */ }
    var button = document.getElementById("generate-button");
    // The idempotency key makes a second click harmless; this only tells the user it is sent.
    window.setTimeout(function () {
      button.disabled = true;
      button.textContent = "Sending…";
    }, 0);
  });

  applyModel();
})();
