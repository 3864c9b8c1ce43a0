/* Result view: live progress while the job runs, the comparison slider, and the size-vs-K charts. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function live(card) {
    var id = card.getAttribute("data-job-id");
    var url = card.getAttribute("data-status-url") + "?id=" + encodeURIComponent(id);
    var bar = document.getElementById("live-progress"), stage = document.getElementById("live-stage");
    var tick = function () {
      KMC.request(url).then(function (data) {
        var job = (data.jobs || [])[0];
        if (!job) return;
        if (job.finished) { window.location.reload(); return; }
        bar.value = job.progress;
        var row = document.createElement("template");
        row.innerHTML = job.html.trim();
        var meta = row.content.querySelectorAll(".job-meta");
        stage.textContent = meta.length > 1 ? meta[meta.length - 1].textContent.trim() : job.status;
        window.setTimeout(tick, 1000);
      }, function () { window.setTimeout(tick, 3000); });
    };
    window.setTimeout(tick, 1000);
  }

  function node(name, attrs, text) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function short(v) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (a >= 1e3) return (v / 1e3).toFixed(1) + "k";
    return v.toPrecision(3);
  }

  function bytes(v) {
    var a = Math.abs(v);
    if (a >= 1024 * 1024) return (v / 1048576).toFixed(a >= 10 * 1048576 ? 0 : 1) + " MB";
    if (a >= 1024) return (v / 1024).toFixed(a >= 10240 ? 0 : 1) + " KB";
    return Math.round(v) + " B";
  }

  function grouped(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  /* One panel: a value against K on a log2 axis, the job's real point in red, an optional
     dashed reference line (the original's size). Built with DOM calls: no inline script/style. */
  function kChart(o) {
    var pts = o.points;
    var W = 560, H = 220, L = 68, R = 16, T = 28, B = 40;
    var pw = W - L - R, ph = H - T - B;
    var lx = pts.map(function (p) { return Math.log2(p.k); });
    var x0 = Math.min.apply(null, lx), x1 = Math.max.apply(null, lx);
    var values = pts.map(function (p) { return p.v; });
    if (o.actual && o.actual.v != null) values.push(o.actual.v);
    if (o.reference && o.reference.v <= 1.5 * Math.max.apply(null, values)) values.push(o.reference.v);
    else o.reference = null;  // far above the curve: it would flatten everything
    var y1 = Math.max.apply(null, values) * 1.05 || 1;
    var x = function (k) { return L + pw * (Math.log2(k) - x0) / ((x1 - x0) || 1); };
    var y = function (v) { return T + ph * (1 - v / y1); };
    var svg = node("svg", { "class": "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": o.id + "-title " + o.id + "-desc" });
    svg.appendChild(node("title", { id: o.id + "-title" }, o.title));
    var desc = pts.map(function (p) { return "K " + p.k + ": " + o.format(p.v); }).join("; ");
    if (o.actual && o.actual.v != null) desc += ". This job: K " + o.actual.k + ", " + o.format(o.actual.v);
    if (o.reference) desc += ". " + o.reference.label + ": " + o.format(o.reference.v);
    svg.appendChild(node("desc", { id: o.id + "-desc" }, desc + "."));
    for (var t = 0; t <= 4; t++) {
      var v = y1 * t / 4;
      svg.appendChild(node("line", { "class": "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      svg.appendChild(node("text", { x: L - 6, y: y(v), "text-anchor": "end", "dominant-baseline": "middle" }, o.format(v)));
    }
    svg.appendChild(node("line", { "class": "axis", x1: L, x2: W - R, y1: T + ph, y2: T + ph }));
    svg.appendChild(node("line", { "class": "axis", x1: L, x2: L, y1: T, y2: T + ph }));
    if (o.reference) {
      svg.appendChild(node("line", { "class": "reference", x1: L, x2: W - R, y1: y(o.reference.v), y2: y(o.reference.v) }));
      svg.appendChild(node("text", { x: W - R, y: y(o.reference.v) - 5, "text-anchor": "end" }, o.reference.label + " " + o.format(o.reference.v)));
    }
    svg.appendChild(node("path", { "class": "line", d: pts.map(function (p, i) { return (i ? "L" : "M") + x(p.k).toFixed(1) + "," + y(p.v).toFixed(1); }).join(" ") }));
    pts.forEach(function (p) {
      svg.appendChild(node("text", { x: x(p.k), y: T + ph + 16, "text-anchor": "middle" }, String(p.k)));
      var dot = node("circle", { "class": "dot", cx: x(p.k), cy: y(p.v), r: 3.5 });
      dot.appendChild(node("title", {}, "K " + p.k + ": " + o.format(p.v)));
      svg.appendChild(dot);
    });
    if (o.actual && o.actual.v != null) {
      var c = node("circle", { "class": "dot dot--current", cx: x(o.actual.k), cy: y(o.actual.v), r: 6 });
      c.appendChild(node("title", {}, "This job: K " + o.actual.k + ", " + o.format(o.actual.v)));
      svg.appendChild(c);
    } else if (o.actual) {
      svg.appendChild(node("line", { "class": "marker", x1: x(o.actual.k), x2: x(o.actual.k), y1: T, y2: T + ph }));
    }
    svg.appendChild(node("text", { "class": "title", x: L, y: 16 }, o.title));
    svg.appendChild(node("text", { x: L + pw / 2, y: H - 4, "text-anchor": "middle" }, "colours K (log scale)"));
    return svg;
  }

  /* The size-vs-K card: estimated (or exact) file size, and the error, against K. */
  function sizeCurve(box, note, data) {
    var pts = data.points || [];
    if (!pts.length) { box.textContent = "No data."; return; }
    var actual = data.actual;
    var how = data.exact ? "Exact sizes" : "Estimated sizes";
    var size = kChart({
      id: "size-svg", title: how + " by K", format: bytes,
      points: pts.map(function (p) { return { k: p.n_colors, v: p.estimated_bytes }; }),
      actual: actual ? { k: actual.k, v: actual.bytes } : null,
      reference: data.input_bytes ? { v: data.input_bytes, label: "original" } : null
    });
    var error = kChart({
      id: "error-svg", title: "Error (mean squared, per pixel) by K", format: short,
      points: pts.map(function (p) { return { k: p.n_colors, v: p.inertia }; }),
      actual: actual ? { k: actual.k, v: actual.inertia } : null
    });
    box.textContent = "";
    box.appendChild(size);
    box.appendChild(error);
    var text;
    if (data.exact) {
      text = "Exact: the whole " + data.width + "×" + data.height + " output was quantized and encoded at each K.";
    } else {
      text = "Estimated from a " + grouped(data.sample_pixels) + "-px sample: each K's palette comes from a " +
        data.preview_width + "×" + data.preview_height + " preview, and the size from encoding " + data.n_tiles + " full-resolution " +
        data.tile_side + "×" + data.tile_side + " tiles, scaled to the " + data.width + "×" + data.height + " output.";
    }
    if (actual) {
      text += " Red: this job (K " + actual.k + ", " + bytes(actual.bytes) + ")";
      if (actual.width !== data.width || actual.height !== data.height) {
        text += ", whose result is " + actual.width + "×" + actual.height + " (scaled to meet its target)";
      }
      text += ".";
    }
    if (data.input_bytes) text += " The original file is " + bytes(data.input_bytes) + ".";
    note.textContent = text;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var card = document.getElementById("live-job");
    if (card) live(card);
    var compare = document.getElementById("compare");
    if (compare) {
      var view = new KMC.Compare(compare);
      var zoom = document.getElementById("zoom");
      zoom.addEventListener("change", function () { view.setZoom(Number(zoom.value)); });
    }
    var curve = document.getElementById("size-curve");
    if (curve) {
      KMC.request(curve.getAttribute("data-url"))
        .then(function (data) { sizeCurve(curve, document.getElementById("size-curve-note"), data); })
        .catch(function (err) { curve.textContent = err.message; });
    }
  });
})();
