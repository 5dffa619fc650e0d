// Shapes the compose form to the chosen model, from the catalog the server embeds.
(function () {
  const form = document.getElementById("compose-form");
  const data = document.getElementById("catalog-data");
  if (!form || !data) return;
  const catalog = JSON.parse(data.textContent);
  const byId = Object.fromEntries(catalog.map((model) => [model.id, model]));
  const modelSelect = form.querySelector("[name=model]");
  const sizeOptions = document.getElementById("size-options");
  const note = document.getElementById("model-note");

  function show(fieldName, visible) {
    const field = form.querySelector(`[data-field=${fieldName}]`);
    if (field) field.classList.toggle("hidden", !visible);
  }

  function apply() {
    const model = byId[modelSelect.value];
    if (!model) return;
    sizeOptions.replaceChildren(
      ...model.size_tiers.map((tier) => Object.assign(document.createElement("option"), { value: tier }))
    );
    form.querySelector("[name=size]").placeholder = model.default_size;
    show("aspect_ratio", model.aspect_ratios.length > 0);
    show("seed", model.supports_seed);
    show("guidance_scale", model.supports_guidance);
    show("references", model.max_references > 0);
    const images = form.querySelector("[name=num_images]");
    images.max = model.max_outputs;
    show("num_images", model.max_outputs > 1);
    note.textContent = model.description;
  }

  modelSelect.addEventListener("change", apply);
  apply();
})();
