/* Dashboard: choose or drop files (each is uploaded at once), tune the selected one with a live
   preview beside the options, then compress this file or all of them and follow the batch summary. */
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
    var compressOne = el("compress-one");
    var items = []; // {file, row, status, bar, state, upload}; state: refused | uploading | uploaded | failed
    var selected = null;

    /* ---------- files: each chosen file is uploaded at once (POST /api/uploads/) ---------- */
    function checkFile(file) {
      var isImage = (file.type && file.type.indexOf("image/") === 0) || (!file.type && IMAGE_EXTENSIONS.test(file.name));
      if (!isImage) return "Not an image (" + (file.type || "unknown type") + "): choose a PNG, JPEG, GIF, WebP, BMP, TIFF or AVIF file.";
      if (file.type === "image/svg+xml") return "SVG drawings are not supported: export a PNG first.";
      if (file.size === 0) return "The file is empty.";
      if (file.size > maxBytes) return "Too large: " + KMC.formatBytes(file.size) + " is over the " + KMC.formatBytes(maxBytes) + " limit.";
      return "";
    }

    function addFiles(files) {
      // A new choice starts a new tuning session: the previous files leave the list.
      items = [];
      selected = null;
      fileList.textContent = "";
      tuning.hidden = true;
      batch.root.hidden = true;
      Array.prototype.forEach.call(files, function (file) {
        var problem = checkFile(file);
        var li = document.createElement("li");
        li.className = "file-item";
        var name = document.createElement("button");
        name.type = "button";
        name.className = "file-name linklike";
        name.textContent = file.name;
        name.disabled = true;
        name.setAttribute("aria-label", "Tune " + file.name);
        var size = document.createElement("span");
        size.className = "file-status";
        size.textContent = KMC.formatBytes(file.size);
        var status = document.createElement("span");
        status.className = "file-status" + (problem ? " is-error" : "");
        status.textContent = problem || "Waiting to upload…";
        var bar = document.createElement("progress");
        bar.max = 100;
        bar.value = 0;
        bar.setAttribute("aria-label", "Upload of " + file.name);
        bar.hidden = true;
        li.append(name, size, status, bar);
        fileList.appendChild(li);
        var item = { file: file, row: li, button: name, status: status, bar: bar, state: problem ? "refused" : "queued", upload: null };
        li.setAttribute("data-state", item.state);
        name.addEventListener("click", function () { select(item); });
        items.push(item);
      });
      refreshSubmit();
      setupCrop();
      var queue = items.filter(function (item) { return item.state === "queued"; });
      var next = function () { var item = queue.shift(); if (item) return send(item).then(next); };
      for (var i = 0; i < Math.min(CONCURRENT_UPLOADS, queue.length); i++) next();
      fileInput.value = "";
    }

    function uploaded() { return items.filter(function (i) { return i.state === "uploaded"; }); }
    function usable() { return items.filter(function (i) { return i.state === "uploaded" || i.state === "queued" || i.state === "uploading"; }); }

    function refreshSubmit() {
      var n = uploaded().length, busy = items.some(function (i) { return i.state === "queued" || i.state === "uploading"; });
      submit.disabled = n === 0 || busy;
      submit.textContent = n > 1 ? "Compress all " + n + " images" : "Compress";
      compressOne.hidden = n < 2;
      hint.textContent = !items.length || (!n && !busy) ? "Choose at least one image first." : busy ? "Uploading…" : "";
    }

    function send(item) {
      return new Promise(function (resolve) {
        var data = new FormData();
        data.append("file", item.file, item.file.name);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.getAttribute("data-upload-url"));
        xhr.setRequestHeader("X-CSRFToken", KMC.csrfToken());
        xhr.setRequestHeader("Accept", "application/json");
        item.bar.hidden = false;
        setState(item, "uploading");
        xhr.upload.addEventListener("progress", function (event) {
          if (!event.lengthComputable) return;
          var pct = Math.round(100 * event.loaded / event.total);
          item.bar.value = pct;
          item.status.textContent = pct < 100 ? "Uploading… " + pct + " %" : "Checking the image…";
        });
        xhr.addEventListener("load", function () {
          var body = null;
          try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
          if ((xhr.status === 201 || xhr.status === 200) && body && body.id) {
            item.upload = body;
            item.bar.hidden = true;
            setState(item, "uploaded");
            item.status.className = "file-status is-ok";
            item.status.textContent = "Uploaded · " + body.width + "×" + body.height;
            item.button.disabled = false;
            if (!selected) select(item);
          } else {
            fail(item, body ? KMC.errorMessage(body, xhr.status) : "The server answered " + xhr.status + ".");
          }
          refreshSubmit();
          resolve();
        });
        xhr.addEventListener("error", function () { fail(item, "The upload failed: check your connection and try again."); refreshSubmit(); resolve(); });
        xhr.send(data);
      });
    }

    function setState(item, state) { item.state = state; item.row.setAttribute("data-state", state); }

    function fail(item, message) {
      setState(item, "failed");
      item.bar.hidden = true;
      item.status.className = "file-status is-error";
      item.status.textContent = message;
      KMC.announce(item.file.name + ": " + message);
    }

    fileInput.addEventListener("change", function () { if (fileInput.files.length) addFiles(fileInput.files); });
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
    el("pad-enabled").addEventListener("change", function () { el("id_background").disabled = !this.checked; });

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
      onChange: function () { if (cropEnabled.checked) askPreview(); },
    });
    var cropFile = null;

    function setupCrop() {
      var candidates = usable();
      // One crop box describes one image, so it is offered when exactly one image is chosen.
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
      askPreview();
    }
    cropEnabled.addEventListener("change", toggleCrop);

    /* ---------- validation: explain invalid combinations before sending ---------- */
    /* forPreview: the target fields are the job's alone, so they do not hold a preview back. */
    function validate(options) {
      var forPreview = options && options.forPreview;
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
      var target = forPreview ? "none" : form.querySelector('input[name="target"]:checked').value;
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
      if (forPreview && problems.length) previewStatus.textContent = "Fix the options above to see a preview.";
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

    /* ---------- the options as the API takes them (preview and batch) ---------- */
    function number(input) { return input.value === "" ? null : Number(input.value); }
    function checked(name) { return form.querySelector('input[name="' + name + '"]:checked').value; }

    function jobOptions() {
      var options = {
        n_colors: Number(kNumber.value),
        auto: el("id_auto").checked,
        init: el("id_init").value,
        color_space: checked("color_space"),
        dither: Number(dither.value) / 100,
        output_format: checked("output_format"),
        resize_mode: mode.value,
        width: number(width),
        height: number(height),
        crop: cropEnabled.checked && !cropEnabled.disabled ? { x: crop.rect.x, y: crop.rect.y, width: crop.rect.width, height: crop.rect.height } : null,
        allow_upscale: el("id_allow_upscale").checked,
        background: el("pad-enabled").checked ? el("id_background").value : null,
      };
      var target = checked("target");
      if (target === "size") options.target_size_kb = Number(el("id_target_size_kb").value);
      if (target === "quality") options["target_" + el("id_quality_metric").value] = Number(el("id_target_quality").value);
      return options;
    }

    /* ---------- the tuning screen: every change asks for a preview of the selected file ---------- */
    var tuning = el("tuning");
    var compare = new KMC.Compare(el("tuning-compare"));
    var zoom = el("tuning-zoom");
    zoom.addEventListener("change", function () { compare.setZoom(Number(zoom.value)); });
    var afterImg = el("tuning-after"), beforeImg = el("tuning-before");
    var previewStatus = el("preview-status");
    var lastPreview = null;  // the newest preview shown (data + the payload it answered)
    var client = new KMC.PreviewClient({
      onResult: showPreview,
      onError: function (err) {
        if (err.status !== 429) lastAsked = null;  // the same options may be asked again (429s retry by themselves)
        if (err.status === 400 && err.data) showServerProblems(err.data);
        previewStatus.textContent = err.message + (lastPreview ? " The last preview stays." : "");
        previewStatus.className = "small is-error";
      },
      onState: function (state) { tuning.setAttribute("data-preview-state", state); },
    });

    function currentView() { return form.querySelector('input[name="preview_view"]:checked').value; }

    function select(item) {
      if (!item.upload) return;
      if (selected === item && !tuning.hidden) return;
      selected = item;
      items.forEach(function (other) { other.row.classList.toggle("is-selected", other === item); other.button.setAttribute("aria-pressed", String(other === item)); });
      client.abort();  // an answer for the previous file is stale
      lastPreview = null;
      lastAsked = null;
      tuning.hidden = false;
      batch.root.hidden = true;
      el("tuning-file").textContent = item.file.name;
      beforeImg.src = item.upload.links.download;
      beforeImg.alt = "Original " + item.file.name + ", " + item.upload.width + "×" + item.upload.height;
      afterImg.removeAttribute("src");
      previewStatus.textContent = "Computing the preview…";
      askPreview();
    }

    function askPreview() {
      if (!selected || !selected.upload || tuning.hidden) return;
      if (!validate({ forPreview: true })) return;
      var payload = jobOptions();
      delete payload.target_size_kb;  // a target picks K for the job; the preview shows this K
      delete payload.target_psnr;
      delete payload.target_ssim;
      delete payload.auto;  // auto picks K for the job; the preview shows this K
      var view = currentView();
      payload.views = view === "image" ? [] : [view];
      var url = form.getAttribute("data-upload-url") + selected.upload.id + "/preview/";
      // One change can fire both input and change events: ask once per distinct request.
      var key = url + JSON.stringify(payload);
      if (key === lastAsked) return;
      lastAsked = key;
      client.ask(url, payload, lastEvent || performance.now());
      lastEvent = null;
    }
    var lastAsked = null;

    var lastEvent = null;  // when the input that asked for the preview happened (latency figures)
    form.addEventListener("input", function (event) {
      if (event.target.name === "file" || event.target.name === "preview_view") return;
      lastEvent = event.timeStamp;
      askPreview();
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "preview_view") { showView(); askPreview(); return; }
      if (event.target.type === "radio" || event.target.tagName === "SELECT") { lastEvent = event.timeStamp; askPreview(); }
    });

    function showPreview(data, meta) {
      lastPreview = { data: data, payload: meta.payload };
      previewStatus.className = "small";
      var k = meta.payload.n_colors;
      previewStatus.textContent = "Preview of K=" + k + " at " + data.width + "×" + data.height + " (server " + Math.round(data.server_ms) + " ms).";
      tuning.setAttribute("data-preview-k", String(k));
      tuning.setAttribute("data-preview-seq", String(meta.seq));
      el("fig-psnr").textContent = data.psnr === null || data.psnr === undefined ? "∞ (identical)" : data.psnr.toFixed(2) + " dB";
      el("fig-ssim").textContent = data.ssim === null || data.ssim === undefined ? "—" : data.ssim.toFixed(4);
      el("fig-bytes").textContent = (data.estimate_exact ? "" : "≈ ") + KMC.formatBytes(data.estimated_bytes);
      el("fig-ratio").textContent = data.estimated_ratio ? data.estimated_ratio.toFixed(2) + "× (" + KMC.change(data.input_bytes, data.estimated_bytes) + ")" : "—";
      el("fig-k").textContent = data.n_colors_used + " of " + k;
      el("fig-size").textContent = data.output_width + "×" + data.output_height;
      KMC.renderPalette(el("preview-palette-bar"), el("preview-palette"), data.palette);
      var advice = el("preview-advice");
      advice.hidden = !data.not_worth_it;
      el("preview-advice-text").textContent = data.not_worth_it
        ? "at about " + KMC.formatBytes(data.estimated_bytes) + " the result would be larger than the original (" + KMC.formatBytes(data.input_bytes) + "). Try fewer colours, no dithering, or keep the original."
        : "";
      el("tuning-after-label").textContent = data.n_colors_used + " colours";
      compare.setGeometry(data.output_width, data.output_height, beforeRect(data));
      showView();
      // Latency: from the input event to the new image painted (the frame after it decoded).
      var src = viewSource(data);
      var painted = function () {  // read by bench/preview_browser.py
        requestAnimationFrame(function () {
          var ms = performance.now() - meta.startedAt;
          tuning.setAttribute("data-last-latency-ms", ms.toFixed(1));
          (window.__previewLatencies = window.__previewLatencies || []).push({ k: k, ms: ms, server_ms: data.server_ms });
        });
      };
      if (src && afterImg.getAttribute("src") !== src) {
        afterImg.src = src;
        afterImg.decode().then(painted, painted);
      } else {
        painted();
      }
    }

    function viewSource(data) {
      var view = currentView();
      return view === "heatmap" ? data.heatmap || data.image : view === "clusters" ? data.clusters || data.image : data.image;
    }

    function showView() {
      var view = currentView();
      el("heatmap-legend").hidden = view !== "heatmap";
      el("clusters-note").hidden = view !== "clusters";
      tuning.setAttribute("data-view", view);
      if (!lastPreview) return;
      var data = lastPreview.data;
      if (view === "heatmap" && data.heatmap_max_error !== undefined) {
        el("heatmap-max").textContent = KMC.formatError(data.heatmap_max_error);
        el("heatmap-units").textContent = data.heatmap_units ? "Units: " + data.heatmap_units + "." : "";
      }
      var src = viewSource(data);
      if (src && afterImg.getAttribute("src") !== src) afterImg.src = src;
      tuning.setAttribute("data-view-shown", view === "image" || data[view] ? view : "image");
    }

    /* Where the original goes in the box so the region the output shows fills it (crop first,
       then the resize mode: fill covers the box and crop cuts it, both from the centre; a padded
       fit centres the scaled region in the box). */
    function beforeRect(data) {
      var full = { w: selected.upload.width, h: selected.upload.height };
      var box = lastPreview.payload.crop ? { x: lastPreview.payload.crop.x, y: lastPreview.payload.crop.y, w: lastPreview.payload.crop.width, h: lastPreview.payload.crop.height } : { x: 0, y: 0, w: full.w, h: full.h };
      var m = lastPreview.payload.resize_mode, tw = lastPreview.payload.width, th = lastPreview.payload.height;
      if ((m === "fill" || m === "crop") && tw && th) {
        var w = box.w, h = box.h;
        if (m === "fill") { if (box.w / box.h > tw / th) w = box.h * tw / th; else h = box.w * th / tw; }
        else { w = Math.min(tw, box.w); h = Math.min(th, box.h); }
        box = { x: box.x + (box.w - w) / 2, y: box.y + (box.h - h) / 2, w: w, h: h };
      }
      if (m === "fit" && lastPreview.payload.background && tw && th) {
        // Padded: the region is scaled into the box and centred; the rest of the box is padding.
        var s = Math.min(tw / box.w, th / box.h);
        if (!lastPreview.payload.allow_upscale) s = Math.min(s, 1);
        var left = (tw - box.w * s) / 2 - box.x * s, top = (th - box.h * s) / 2 - box.y * s;
        return [left / tw * 100, top / th * 100, full.w * s / tw * 100, full.h * s / th * 100];
      }
      return [-box.x / box.w * 100, -box.y / box.h * 100, full.w / box.w * 100, full.h / box.h * 100];
    }

    function showServerProblems(data) {
      var inputs = { n_colors: kNumber, dither: dither, width: width, height: height, resize_mode: mode, crop: cropFields.width };
      var problems = [];
      Object.keys(data).forEach(function (field) {
        var messages = Array.isArray(data[field]) ? data[field] : [String(data[field])];
        problems.push({ input: inputs[field] || kNumber, message: messages.join(" ") });
      });
      showProblems(problems);
    }

    /* ---------- Compress: this file or all of them, then the batch summary ---------- */
    var batch = new KMC.BatchSummary(el("batch"), {
      statusUrl: el("job-list").getAttribute("data-status-url"),
      zipUrl: form.getAttribute("data-zip-url"),
      onJob: function (job) { jobs.update(job); },
    });
    el("batch-download").addEventListener("click", function (event) {
      if (this.getAttribute("aria-disabled") === "true") event.preventDefault();
    });
    el("batch-again").addEventListener("click", function () {
      batch.root.hidden = true;
      form.hidden = false;
      if (selected) tuning.hidden = false;
      fileInput.focus();
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!validate()) { errorsBox.focus(); return; }
      var chosen = event.submitter === compressOne && selected ? [selected] : uploaded();
      if (!chosen.length) return;
      var options = jobOptions();
      options.upload_ids = chosen.map(function (item) { return item.upload.id; });
      submit.disabled = true;
      compressOne.disabled = true;
      hint.textContent = "Creating the jobs…";
      KMC.request(form.getAttribute("data-batch-url"), { method: "POST", body: options })
        .then(function (created) {
          chosen.forEach(function (item) { item.status.textContent = "Job created"; });
          form.hidden = true;  // the screen turns into the batch summary ("Tune more images" comes back)
          batch.start(created);
          el("batch-title").focus();
          KMC.announce(created.length + " job" + (created.length === 1 ? "" : "s") + " created; the summary fills in as they finish.");
          hint.textContent = "";
        })
        .catch(function (err) {
          if (err.status === 400 && err.data) showServerProblems(err.data);
          hint.textContent = err.message;
        })
        .then(function () { compressOne.disabled = false; refreshSubmit(); });
    });

    form.setAttribute("data-ready", "true"); // listeners are attached (tests wait for this)
  });
})();
