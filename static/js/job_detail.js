/* Result view: live progress while the job runs, the comparison slider, and the error-vs-K chart. */
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
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (a >= 1e3) return (v / 1e3).toFixed(1) + "k";
    return v.toPrecision(3);
  }

  /* Inertia against K on a log2 axis; the job's own K is marked. */
  function elbowChart(box, data) {
    var pts = data.points || [];
    if (!pts.length) { box.textContent = "No data."; return; }
    var W = 560, H = 240, L = 64, R = 16, T = 28, B = 40;
    var pw = W - L - R, ph = H - T - B;
    var lx = pts.map(function (p) { return Math.log2(p.k); });
    var x0 = Math.min.apply(null, lx), x1 = Math.max.apply(null, lx);
    var y1 = Math.max.apply(null, pts.map(function (p) { return p.inertia; })) || 1;
    var x = function (k) { return L + pw * (Math.log2(k) - x0) / ((x1 - x0) || 1); };
    var y = function (v) { return T + ph * (1 - v / y1); };
    var svg = node("svg", { "class": "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": "elbow-svg-title elbow-svg-desc" });
    svg.appendChild(node("title", { id: "elbow-svg-title" }, "Clustering error against the number of colours K"));
    svg.appendChild(node("desc", { id: "elbow-svg-desc" }, pts.map(function (p) { return "K " + p.k + ": " + short(p.inertia); }).join("; ")));
    for (var t = 0; t <= 4; t++) {
      var v = y1 * t / 4;
      svg.appendChild(node("line", { "class": "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      svg.appendChild(node("text", { x: L - 6, y: y(v), "text-anchor": "end", "dominant-baseline": "middle" }, short(v)));
    }
    svg.appendChild(node("line", { "class": "axis", x1: L, x2: W - R, y1: T + ph, y2: T + ph }));
    svg.appendChild(node("line", { "class": "axis", x1: L, x2: L, y1: T, y2: T + ph }));
    svg.appendChild(node("path", { "class": "line", d: pts.map(function (p, i) { return (i ? "L" : "M") + x(p.k).toFixed(1) + "," + y(p.inertia).toFixed(1); }).join(" ") }));
    pts.forEach(function (p) {
      svg.appendChild(node("text", { x: x(p.k), y: T + ph + 16, "text-anchor": "middle" }, String(p.k)));
      svg.appendChild(node("circle", { "class": "dot", cx: x(p.k), cy: y(p.inertia), r: 3.5 }));
    });
    var kUsed = data.k_used;
    if (kUsed) {
      var near = pts.reduce(function (a, b) { return Math.abs(Math.log2(b.k) - Math.log2(kUsed)) < Math.abs(Math.log2(a.k) - Math.log2(kUsed)) ? b : a; });
      var c = node("circle", { "class": "dot dot--current", cx: x(kUsed), cy: y(near.inertia), r: 6 });
      c.appendChild(node("title", {}, "This job: K = " + kUsed));
      svg.appendChild(c);
    }
    svg.appendChild(node("text", { "class": "title", x: L, y: 16 }, "Inertia"));
    svg.appendChild(node("text", { x: L + pw / 2, y: H - 4, "text-anchor": "middle" }, "colours K (log scale)"));
    box.textContent = "";
    box.appendChild(svg);
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
    var elbow = document.getElementById("elbow-chart");
    if (elbow) {
      KMC.request(elbow.getAttribute("data-url"))
        .then(function (data) { elbowChart(elbow, data); })
        .catch(function (err) { elbow.textContent = err.message; });
    }
  });
})();
