/* Before/after comparison: a divider (pointer drag or arrow keys on its handle) over two images
   that share one zoom and pan transform, drawn with pixelated scaling to inspect pixels. */
(function () {
  "use strict";

  function Compare(root) {
    this.root = root;
    this.after = root.querySelector(".compare-after");
    this.divider = root.querySelector(".compare-divider");
    this.handle = root.querySelector(".compare-handle");
    this.stages = root.querySelectorAll(".compare-stage");
    this.position = 50;
    this.zoom = 1;
    this.pan = { x: 0, y: 0 };
    var before = (root.getAttribute("data-before") || "").split(" ").map(Number);
    this.setGeometry(Number(root.getAttribute("data-width")), Number(root.getAttribute("data-height")), before);
    this.bind();
    this.setPosition(50);
    root.setAttribute("data-ready", "true");
  }

  /* The box takes the result's aspect ratio; `before` ([left, top, width, height] in percent of
     the box) places the original so the region the result shows fills it. */
  Compare.prototype.setGeometry = function (width, height, before) {
    if (width && height) this.root.style.setProperty("--ratio", width + " / " + height);
    var img = this.root.querySelector(".compare-before img");
    if (img && before && before.length === 4 && before.every(Number.isFinite)) {
      img.style.left = before[0] + "%";
      img.style.top = before[1] + "%";
      img.style.width = before[2] + "%";
      img.style.height = before[3] + "%";
    }
  };

  Compare.prototype.setPosition = function (pct) {
    this.position = Math.max(0, Math.min(100, pct));
    var p = this.position.toFixed(2) + "%";
    this.after.style.clipPath = "inset(0 0 0 " + p + ")";
    this.divider.style.left = p;
    this.handle.style.left = p;
    this.handle.setAttribute("aria-valuenow", String(Math.round(this.position)));
    this.handle.setAttribute("aria-valuetext", Math.round(this.position) + " % original, " + Math.round(100 - this.position) + " % compressed");
  };

  Compare.prototype.setZoom = function (zoom) {
    var rect = this.root.getBoundingClientRect();
    // Keep the centre of the view where it is while zooming.
    var cx = (rect.width / 2 - this.pan.x) / this.zoom, cy = (rect.height / 2 - this.pan.y) / this.zoom;
    this.zoom = zoom;
    this.pan = { x: rect.width / 2 - cx * zoom, y: rect.height / 2 - cy * zoom };
    this.root.classList.toggle("is-pixelated", zoom > 1);
    this.applyTransform();
  };

  Compare.prototype.applyTransform = function () {
    var rect = this.root.getBoundingClientRect();
    var minX = rect.width * (1 - this.zoom), minY = rect.height * (1 - this.zoom);
    this.pan.x = Math.min(0, Math.max(minX, this.pan.x));
    this.pan.y = Math.min(0, Math.max(minY, this.pan.y));
    var transform = this.zoom === 1 ? "" : "translate(" + this.pan.x + "px, " + this.pan.y + "px) scale(" + this.zoom + ")";
    this.stages.forEach(function (stage) { stage.style.transform = transform; });
  };

  Compare.prototype.positionFromEvent = function (event) {
    var rect = this.root.getBoundingClientRect();
    return 100 * (event.clientX - rect.left) / rect.width;
  };

  Compare.prototype.bind = function () {
    var self = this;
    var drag = null;
    this.root.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      event.preventDefault();
      var onHandle = self.handle.contains(event.target);
      drag = onHandle || self.zoom === 1 ? { mode: "divide" } : { mode: "pan", x: event.clientX, y: event.clientY, pan: Object.assign({}, self.pan) };
      if (drag.mode === "divide") { self.setPosition(self.positionFromEvent(event)); self.handle.focus(); }
      self.root.setPointerCapture(event.pointerId);
    });
    this.root.addEventListener("pointermove", function (event) {
      if (!drag) return;
      if (drag.mode === "divide") self.setPosition(self.positionFromEvent(event));
      else {
        self.pan = { x: drag.pan.x + event.clientX - drag.x, y: drag.pan.y + event.clientY - drag.y };
        self.applyTransform();
      }
    });
    var end = function () { drag = null; };
    this.root.addEventListener("pointerup", end);
    this.root.addEventListener("pointercancel", end);

    this.handle.addEventListener("keydown", function (event) {
      var step = event.shiftKey ? 10 : 1;
      var moves = { ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step, PageDown: -10, PageUp: 10 };
      if (event.key in moves) self.setPosition(self.position + moves[event.key]);
      else if (event.key === "Home") self.setPosition(0);
      else if (event.key === "End") self.setPosition(100);
      else return;
      event.preventDefault();
      event.stopPropagation();
    });
    this.root.addEventListener("keydown", function (event) {
      if (event.target !== self.root || self.zoom === 1) return;
      var step = event.shiftKey ? 100 : 25;
      var d = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[event.key];
      if (!d) return;
      event.preventDefault();
      self.pan = { x: self.pan.x + d[0], y: self.pan.y + d[1] };
      self.applyTransform();
    });
    window.addEventListener("resize", function () { self.applyTransform(); });
  };

  KMC.Compare = Compare;
})();
