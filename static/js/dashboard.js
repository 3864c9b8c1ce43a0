/* Dashboard: choose or drop files, check them, set options (validated before sending), upload
   each file with its own progress bar, and hand the new job to the live job list. */
(function () {
  "use strict";
  var IMAGE_EXTENSIONS = /\.(png|jpe?g|gif|webp|bmp|tiff?|avif)$/i;
  var CONCURRENT_UPLOADS = 2;

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var BOUNDS = JSON.parse(form.dataset.bounds);  // the engine's bounds and messages (compression.engine.BOUNDS)
    var el = function (id) { return document.getElementById(id); };
    var maxBytes = Number(form.getAttribute("data-max-bytes"));
    var fileInput = el("file-input");
    var dropzone = el("dropzone");
    var fileList = el("file-list");
    var submit = el("submit-button");
    var hint = el("submit-hint");
    var errorsBox = el("form-errors");
    var jobs = new KMC.JobList(el("job-list"));
    var pending = []; // {file, row, ok}

    /* ---------- files ---------- */
    function checkFile(file) {
      var isImage = (file.type && file.type.indexOf("image/") === 0) || (!file.type && IMAGE_EXTENSIONS.test(file.name));
      if (!isImage) return "Not an image (" + (file.type || "unknown type") + "): choose a PNG, JPEG, GIF, WebP, BMP, TIFF or AVIF file.";
      if (file.type === "image/svg+xml") return "SVG drawings are not supported: export a PNG first.";
      if (file.size === 0) return "The file is empty.";
      if (file.size > maxBytes) return "Too large: " + KMC.formatBytes(file.size) + " is over the " + KMC.formatBytes(maxBytes) + " limit.";
      return "";
    }

    function addFiles(files) {
      // A new choice replaces the files not yet sent; uploads in flight stay listed.
      var keep = { queued: true, uploading: true };
      pending = pending.filter(function (item) { return keep[item.state]; });
      fileList.querySelectorAll(".file-item").forEach(function (n) { if (!keep[n.getAttribute("data-state")]) n.remove(); });
      Array.prototype.forEach.call(files, function (file) {
        var problem = checkFile(file);
        var li = document.createElement("li");
        li.className = "file-item";
        var name = document.createElement("span");
        name.className = "file-name";
        name.textContent = file.name;
        var size = document.createElement("span");
        size.className = "file-status";
        size.textContent = KMC.formatBytes(file.size);
        var status = document.createElement("span");
        status.className = "file-status" + (problem ? " is-error" : "");
        status.textContent = problem || "Ready";
        var bar = document.createElement("progress");
        bar.max = 100;
        bar.value = 0;
        bar.setAttribute("aria-label", "Upload of " + file.name);
        bar.hidden = true;
        li.append(name, size, status, bar);
        fileList.appendChild(li);
        var item = { file: file, row: li, status: status, bar: bar, state: problem ? "refused" : "waiting" };
        li.setAttribute("data-state", item.state);
        pending.push(item);
      });
      refreshSubmit();
      setupCrop();
    }

    function waiting() { return pending.filter(function (i) { return i.state === "waiting"; }); }

    function refreshSubmit() {
      var n = waiting().length;
      submit.disabled = n === 0;
      submit.textContent = n > 1 ? "Compress " + n + " images" : "Compress";
      hint.textContent = n === 0 ? "Choose at least one image first." : "";
    }

    fileInput.addEventListener("change", function () { addFiles(fileInput.files); });
    ["dragenter", "dragover"].forEach(function (type) {
      dropzone.addEventListener(type, function (event) { event.preventDefault(); dropzone.classList.add("is-over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      dropzone.addEventListener(type, function (event) { event.preventDefault(); dropzone.classList.remove("is-over"); });
    });
    dropzone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) addFiles(event.dataTransfer.files);
    });

    /* ---------- options: preset <-> K, dithering, dimensions, target ---------- */
    var kNumber = el("id_n_colors"), kRange = el("k-range");
    var presetDescription = el("preset-description");
    function presetForK(k) {
      var match = form.querySelector('input[name="preset"][data-k="' + k + '"]');
      (match || form.querySelector('input[name="preset"][value=""]')).checked = true;
      presetDescription.textContent = match ? match.getAttribute("data-description") : "Your own number of colours.";
    }
    kRange.addEventListener("input", function () { kNumber.value = kRange.value; presetForK(kRange.value); });
    kNumber.addEventListener("input", function () {
      var k = Number(kNumber.value);
      if (Number.isInteger(k) && k >= BOUNDS.n_colors.minimum && k <= BOUNDS.n_colors.maximum) kRange.value = k;
      presetForK(kNumber.value);
    });
    form.querySelectorAll('input[name="preset"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        var k = radio.getAttribute("data-k");
        if (k) { kNumber.value = k; kRange.value = k; presetDescription.textContent = radio.getAttribute("data-description"); }
        else presetDescription.textContent = "Your own number of colours.";
      });
    });

    var dither = el("id_dither"), ditherOut = el("dither-output");
    dither.addEventListener("input", function () { ditherOut.textContent = dither.value + " %"; });

    var mode = el("id_resize_mode"), dimPreset = el("id_dimension_preset"), width = el("id_width"), height = el("id_height");
    var resizeHelp = el("resize-help"), resizeHelpDefault = resizeHelp.textContent;
    mode.addEventListener("change", function () {
      var option = mode.options[mode.selectedIndex];
      resizeHelp.textContent = option.getAttribute("data-description") || resizeHelpDefault;
    });
    dimPreset.addEventListener("change", function () {
      var option = dimPreset.options[dimPreset.selectedIndex];
      if (!option.value) return;
      width.value = option.getAttribute("data-width");
      height.value = option.getAttribute("data-height");
      if (!mode.value) { mode.value = "fit"; mode.dispatchEvent(new Event("change")); }
    });
    [width, height].forEach(function (input) { input.addEventListener("input", function () { dimPreset.value = ""; }); });

    function syncTarget() {
      var target = form.querySelector('input[name="target"]:checked').value;
      el("target-size-field").hidden = target !== "size";
      el("target-quality-field").hidden = target !== "quality";
    }
    form.querySelectorAll('input[name="target"]').forEach(function (r) { r.addEventListener("change", syncTarget); });
    syncTarget();

    /* ---------- crop ---------- */
    var cropSection = el("crop-section"), cropEnabled = el("crop-enabled"), cropArea = el("crop-area");
    var cropFields = { x: el("id_crop_x"), y: el("id_crop_y"), width: el("id_crop_width"), height: el("id_crop_height") };
    var crop = new KMC.CropEditor({
      img: el("crop-image"), box: el("crop-box"), handle: el("crop-handle"), fields: cropFields, readout: el("crop-readout"),
    });
    var cropFile = null;

    function setupCrop() {
      var candidates = waiting();
      // One crop box describes one image, so it is offered when exactly one image is queued.
      if (candidates.length !== 1) {
        cropSection.hidden = candidates.length === 0;
        cropEnabled.disabled = candidates.length > 1;
        el("crop-file-name").textContent = candidates.length > 1 ? "(only when one image is chosen)" : "";
        if (candidates.length > 1) { cropEnabled.checked = false; toggleCrop(); }
        return;
      }
      cropSection.hidden = false;
      cropEnabled.disabled = false;
      el("crop-file-name").textContent = "“" + candidates[0].file.name + "”";
      if (cropFile !== candidates[0].file) {
        cropFile = candidates[0].file;
        crop.load(cropFile).then(function () { if (!cropArea.hidden) crop.render(); }, function (err) {
          cropEnabled.checked = false;
          cropEnabled.disabled = true;
          el("crop-file-name").textContent = "(" + err.message + ")";
          toggleCrop();
        });
      }
    }
    function toggleCrop() {
      cropArea.hidden = !cropEnabled.checked;
      Object.keys(cropFields).forEach(function (k) { cropFields[k].disabled = !cropEnabled.checked; });
      if (cropEnabled.checked) crop.render();
    }
    cropEnabled.addEventListener("change", toggleCrop);

    /* ---------- validation: explain invalid combinations before sending ---------- */
    function validate() {
      var problems = [];
      function bad(input, message) { problems.push({ input: input, message: message }); }
      function outside(name, value) {
        var b = BOUNDS[name];
        return !Number.isFinite(value) || (b.integer && !Number.isInteger(value)) || value < b.minimum || (b.maximum !== null && value > b.maximum);
      }
      var k = Number(kNumber.value);
      if (kNumber.value === "" || outside("n_colors", k)) bad(kNumber, BOUNDS.n_colors.message);
      var w = width.value === "" ? null : Number(width.value), h = height.value === "" ? null : Number(height.value);
      [[width, w, "width"], [height, h, "height"]].forEach(function (triple) {
        if (triple[1] !== null && outside(triple[2], triple[1])) bad(triple[0], BOUNDS[triple[2]].message);
      });
      if (mode.value && (w === null || h === null)) bad(w === null ? width : height, "Resize mode “" + mode.value + "” needs both a width and a height (one alone, with resize mode “None”, scales keeping the aspect ratio).");
      if (!mode.value && w !== null && h !== null) bad(mode, "With both a width and a height, choose how to resize: fit, fill, stretch or crop.");
      var target = form.querySelector('input[name="target"]:checked').value;
      if (target === "size") {
        var size = Number(el("id_target_size_kb").value);
        if (!el("id_target_size_kb").value) bad(el("id_target_size_kb"), "Enter the target size in KB, or choose no target.");
        else if (outside("target_size_kb", size)) bad(el("id_target_size_kb"), BOUNDS.target_size_kb.message);
      } else if (target === "quality") {
        var metric = el("id_quality_metric").value, q = Number(el("id_target_quality").value);
        if (el("id_target_quality").value === "" || !Number.isFinite(q)) bad(el("id_target_quality"), "Enter the quality to reach, e.g. 35 (PSNR) or 0.95 (SSIM).");
        else if (outside("target_" + metric, q)) bad(el("id_target_quality"), BOUNDS["target_" + metric].message);
      }
      if (cropEnabled.checked && crop.natural.width) {
        var r = crop.rect;
        if (r.x + r.width > crop.natural.width || r.y + r.height > crop.natural.height) bad(cropFields.width, "The crop box must lie inside the image.");
      }
      showProblems(problems);
      return problems.length === 0;
    }

    function showProblems(problems) {
      form.querySelectorAll("[aria-invalid='true']").forEach(function (input) {
        input.removeAttribute("aria-invalid");
        var note = document.getElementById(input.id + "-error");
        if (note) note.remove();
      });
      errorsBox.textContent = "";
      if (!problems.length) return;
      var intro = document.createElement("p");
      intro.textContent = problems.length === 1 ? "One option needs fixing:" : problems.length + " options need fixing:";
      var ul = document.createElement("ul");
      ul.className = "errorlist nonfield";
      problems.forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = p.message;
        ul.appendChild(li);
        p.input.setAttribute("aria-invalid", "true");
        if (!document.getElementById(p.input.id + "-error")) {
          var note = document.createElement("p");
          note.className = "field-error";
          note.id = p.input.id + "-error";
          note.textContent = p.message;
          p.input.closest(".field, fieldset").appendChild(note);
          var described = (p.input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
          if (described.indexOf(note.id) < 0) described.push(note.id);
          p.input.setAttribute("aria-describedby", described.join(" "));
        }
        var details = p.input.closest("details");
        if (details) details.open = true;
      });
      errorsBox.append(intro, ul);
    }

    form.addEventListener("change", function () { if (errorsBox.textContent) validate(); });

    /* ---------- upload ---------- */
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!validate()) { errorsBox.focus(); return; }
      var items = waiting();
      if (!items.length) return;
      var options = new FormData(form);
      options.delete("file");
      items.forEach(function (item) { item.state = "queued"; item.row.setAttribute("data-state", "queued"); item.status.textContent = "Waiting to upload…"; });
      refreshSubmit();
      var queue = items.slice();
      var next = function () { var item = queue.shift(); if (item) return send(item, options).then(next); };
      for (var i = 0; i < Math.min(CONCURRENT_UPLOADS, items.length); i++) next();
      fileInput.value = "";
    });

    function send(item, options) {
      return new Promise(function (resolve) {
        var data = new FormData();
        options.forEach(function (value, key) { data.append(key, value); });
        data.append("file", item.file, item.file.name);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("X-CSRFToken", KMC.csrfToken());
        xhr.setRequestHeader("Accept", "application/json");
        item.bar.hidden = false;
        item.state = "uploading";
        item.row.setAttribute("data-state", "uploading");
        xhr.upload.addEventListener("progress", function (event) {
          if (!event.lengthComputable) return;
          var pct = Math.round(100 * event.loaded / event.total);
          item.bar.value = pct;
          item.status.textContent = pct < 100 ? "Uploading… " + pct + " %" : "Processing on the server…";
        });
        xhr.addEventListener("load", function () {
          var body = null;
          try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
          if (xhr.status === 201 && body && body.job) {
            item.bar.value = 100;
            item.state = "done";
            item.row.setAttribute("data-state", "done");
            item.status.className = "file-status is-ok";
            item.status.textContent = "Uploaded: job created";
            jobs.add(body.job.html);
            KMC.announce(item.file.name + " uploaded; the job is in the list below.");
          } else {
            fail(item, body ? KMC.errorMessage(body, xhr.status) : "The server answered " + xhr.status + ".");
          }
          resolve();
        });
        xhr.addEventListener("error", function () { fail(item, "The upload failed: check your connection and try again."); resolve(); });
        xhr.send(data);
      });
    }

    function fail(item, message) {
      item.state = "failed";
      item.row.setAttribute("data-state", "failed");
      item.bar.hidden = true;
      item.status.className = "file-status is-error";
      item.status.textContent = message;
      KMC.announce(item.file.name + ": " + message);
    }

    form.setAttribute("data-ready", "true"); // listeners are attached (tests wait for this)
  });
})();
