/* An accessible crop frame over an image preview. Coordinates are in the image's own pixels.
   Pointer: drag the frame to move it, drag the corner handle to resize it.
   Keyboard (frame focused): arrows move, Shift+arrows resize; 10 px steps, or 1 px with Alt. */
(function () {
  "use strict";
  var MIN_SIZE = 8;
  var MAX_PREVIEW_HEIGHT = 360;

  function CropEditor(options) {
    this.img = options.img;
    this.box = options.box;
    this.handle = options.handle;
    this.fields = options.fields; // {x, y, width, height}: number inputs kept in sync
    this.readout = options.readout;
    this.onChange = options.onChange || function () {};
    this.natural = { width: 0, height: 0 };
    this.rect = { x: 0, y: 0, width: 0, height: 0 };
    this.drag = null;
    this.bind();
  }

  CropEditor.prototype.load = function (file) {
    var self = this;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = URL.createObjectURL(file);
    return new Promise(function (resolve, reject) {
      self.img.onload = function () {
        self.natural = { width: self.img.naturalWidth, height: self.img.naturalHeight };
        var w = Math.round(self.natural.width * 0.8), h = Math.round(self.natural.height * 0.8);
        self.set({ x: Math.round((self.natural.width - w) / 2), y: Math.round((self.natural.height - h) / 2), width: w, height: h });
        resolve(self.natural);
      };
      self.img.onerror = function () { reject(new Error("This browser cannot preview the image.")); };
      self.img.src = self.url;
    });
  };

  CropEditor.prototype.scale = function () {
    return this.natural.width ? this.img.clientWidth / this.natural.width : 1;
  };

  /* Clamp to the image, store, and redraw. */
  CropEditor.prototype.set = function (r) {
    var W = this.natural.width, H = this.natural.height;
    var width = Math.max(MIN_SIZE, Math.min(Math.round(r.width), W));
    var height = Math.max(MIN_SIZE, Math.min(Math.round(r.height), H));
    var x = Math.max(0, Math.min(Math.round(r.x), W - width));
    var y = Math.max(0, Math.min(Math.round(r.y), H - height));
    this.rect = { x: x, y: y, width: width, height: height };
    this.render();
    this.onChange(this.rect);
  };

  /* Show the preview as large as fits: the wrapper's width, at most MAX_PREVIEW_HEIGHT tall. */
  CropEditor.prototype.fit = function () {
    var wrap = this.img.closest(".crop-wrap") || this.img.parentNode;
    if (!this.natural.width || !wrap.clientWidth) return;
    var width = Math.min(wrap.clientWidth, MAX_PREVIEW_HEIGHT * this.natural.width / this.natural.height);
    this.img.style.width = Math.round(width) + "px";
  };

  CropEditor.prototype.render = function () {
    this.fit();
    var s = this.scale();
    var r = this.rect;
    this.box.style.left = (r.x * s) + "px";
    this.box.style.top = (r.y * s) + "px";
    this.box.style.width = (r.width * s) + "px";
    this.box.style.height = (r.height * s) + "px";
    this.fields.x.value = r.x;
    this.fields.y.value = r.y;
    this.fields.width.value = r.width;
    this.fields.height.value = r.height;
    this.readout.textContent = "Crop: " + r.width + "×" + r.height + " px at (" + r.x + ", " + r.y + ") of " +
      this.natural.width + "×" + this.natural.height + ".";
  };

  CropEditor.prototype.bind = function () {
    var self = this;
    this.box.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      event.preventDefault();
      self.box.focus();
      self.drag = {
        mode: event.target === self.handle ? "resize" : "move",
        startX: event.clientX, startY: event.clientY, start: Object.assign({}, self.rect),
      };
      self.box.setPointerCapture(event.pointerId);
    });
    this.box.addEventListener("pointermove", function (event) {
      if (!self.drag) return;
      var s = self.scale();
      var dx = (event.clientX - self.drag.startX) / s, dy = (event.clientY - self.drag.startY) / s;
      var r = self.drag.start;
      if (self.drag.mode === "move") self.set({ x: r.x + dx, y: r.y + dy, width: r.width, height: r.height });
      else self.set({ x: r.x, y: r.y, width: Math.min(r.width + dx, self.natural.width - r.x), height: Math.min(r.height + dy, self.natural.height - r.y) });
    });
    var end = function () { self.drag = null; };
    this.box.addEventListener("pointerup", end);
    this.box.addEventListener("pointercancel", end);

    this.box.addEventListener("keydown", function (event) {
      var step = event.altKey ? 1 : Math.max(1, Math.round(Math.max(self.natural.width, self.natural.height) / 100));
      var d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[event.key];
      if (!d) return;
      event.preventDefault();
      var r = self.rect;
      if (event.shiftKey) self.set({ x: r.x, y: r.y, width: Math.min(r.width + d[0], self.natural.width - r.x), height: Math.min(r.height + d[1], self.natural.height - r.y) });
      else self.set({ x: r.x + d[0], y: r.y + d[1], width: r.width, height: r.height });
    });

    ["x", "y", "width", "height"].forEach(function (key) {
      self.fields[key].addEventListener("change", function () {
        var r = Object.assign({}, self.rect);
        var value = Number(self.fields[key].value);
        if (Number.isFinite(value)) r[key] = value;
        self.set(r);
      });
    });
    window.addEventListener("resize", function () { if (self.natural.width) self.render(); });
  };

  KMC.CropEditor = CropEditor;
})();
