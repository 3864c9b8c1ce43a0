/* Live previews (POST /api/uploads/<id>/preview/) and their display, for the tuning screen and
   the job page. One request in flight plus the latest pending: while K is dragged the server
   works on one value and the newest value waits, so the image keeps up without a queue. */
(function () {
  "use strict";

  /* PreviewClient(onResult, onError, onState).ask(url, payload) asks for a preview.
     - At most one request is in flight; asking meanwhile replaces the pending payload.
     - Every request carries a sequence number; a response older than the newest one shown is
       dropped, so a slow answer never overwrites a newer preview.
     - abort() cancels the request in flight (another file was selected: its answer is stale).
       A drag does not abort: the server would finish the aborted work anyway, holding one of
       the user's synchronous-work slots, and the answer still shows a nearby K meanwhile.
     - A 429 waits for Retry-After before sending the pending payload; the last preview stays. */
  function PreviewClient(handlers) {
    this.onResult = handlers.onResult;
    this.onError = handlers.onError;
    this.onState = handlers.onState || function () {};
    this.sequence = 0;      // of the newest request made
    this.shown = 0;         // of the newest response shown
    this.inFlight = null;   // {controller, seq}
    this.pending = null;    // {url, payload, seq, startedAt}
    this.retryTimer = null;
  }

  PreviewClient.prototype.ask = function (url, payload, startedAt) {
    this.sequence += 1;
    this.pending = { url: url, payload: payload, seq: this.sequence, startedAt: startedAt || performance.now() };
    if (!this.inFlight && !this.retryTimer) this.sendPending();
    this.onState(this.state());
  };

  PreviewClient.prototype.abort = function () {
    if (this.inFlight) this.inFlight.controller.abort();
    this.inFlight = null;
  };

  PreviewClient.prototype.state = function () {
    if (this.retryTimer) return "waiting";
    return this.inFlight || this.pending ? "busy" : "idle";
  };

  PreviewClient.prototype.sendPending = function () {
    var self = this;
    var job = this.pending;
    if (!job) return;
    this.pending = null;
    var controller = new AbortController();
    var flight = { controller: controller, seq: job.seq };
    this.inFlight = flight;
    fetch(job.url, {
      method: "POST",
      credentials: "same-origin",
      signal: controller.signal,
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": KMC.csrfToken() },
      body: JSON.stringify(job.payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (self.inFlight === flight) self.inFlight = null;
        if (response.status === 429) {
          var wait = Number(response.headers.get("Retry-After")) || 1;
          if (!self.pending) self.pending = job;  // retry this one unless a newer one waits
          self.backOff(wait);
          self.onError({ status: 429, message: "Busy: the next preview comes in " + wait + " s.", data: data });
          return;
        }
        if (job.seq < self.shown) return;  // a newer preview is already on screen
        if (!response.ok) {
          self.shown = job.seq;
          self.onError({ status: response.status, message: KMC.errorMessage(data, response.status), data: data });
        } else {
          self.shown = job.seq;
          self.onResult(data, { seq: job.seq, startedAt: job.startedAt, payload: job.payload });
        }
        self.next();
      });
    }).catch(function (err) {
      if (self.inFlight === flight) self.inFlight = null;
      if (err.name !== "AbortError") self.onError({ status: 0, message: "The preview failed: check your connection." });
      self.next();
    });
  };

  PreviewClient.prototype.next = function () {
    if (this.pending && !this.inFlight && !this.retryTimer) this.sendPending();
    this.onState(this.state());
  };

  PreviewClient.prototype.backOff = function (seconds) {
    var self = this;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(function () { self.retryTimer = null; self.next(); }, seconds * 1000);
    this.onState(this.state());
  };

  var SVG = "http://www.w3.org/2000/svg";

  function rect(attributes) {
    var node = document.createElementNS(SVG, "rect");
    Object.keys(attributes).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    return node;
  }

  /* A swatch as the job page draws it: a checkerboard under a colour that is not opaque. */
  function swatch(colour, opacity) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 10 10");
    svg.setAttribute("aria-hidden", "true");
    if (opacity < 1) {
      svg.append(rect({ width: 10, height: 10, fill: "#ffffff" }), rect({ width: 5, height: 5, fill: "#c4c8d4" }),
                 rect({ x: 5, y: 5, width: 5, height: 5, fill: "#c4c8d4" }));
    }
    if (opacity > 0) svg.appendChild(rect({ width: 10, height: 10, fill: colour, "fill-opacity": opacity.toFixed(3) }));
    return svg;
  }

  /* The palette as a bar of shares plus swatches; entries {color: "#rrggbb[aa]", share}. */
  function renderPalette(bar, list, palette) {
    var entries = (palette || []).slice().sort(function (a, b) { return b.share - a.share; });
    bar.textContent = "";
    list.textContent = "";
    var offset = 0;
    entries.forEach(function (entry) {
      var colour = entry.color.slice(0, 7);
      var opacity = entry.color.length === 9 ? parseInt(entry.color.slice(7), 16) / 255 : 1;
      bar.appendChild(rect({ x: (offset * 100).toFixed(4), y: 0, width: (entry.share * 100).toFixed(4), height: 10,
                             fill: colour, "fill-opacity": opacity.toFixed(3) }));
      offset += entry.share;
      var li = document.createElement("li");
      li.className = "swatch";
      var svg = swatch(colour, opacity);
      var text = document.createElement("span");
      var code = document.createElement("code");
      code.textContent = entry.color;
      text.append(code, " " + (entry.share * 100).toFixed(1) + " %");
      li.append(svg, text);
      list.appendChild(li);
    });
  }

  /* Ratio as the dashboard writes it: "−88 %" for a file 88 % smaller, "+12 %" for larger. */
  function change(before, after) {
    if (!before) return "—";
    var pct = Math.round(100 * (after - before) / before);
    return (pct < 0 ? "\u2212" + (-pct) : "+" + pct) + " %";
  }

  /* The heat-map legend's top: errors run from below 0.1 (Oklab) to hundreds (sRGB units). */
  function formatError(value) {
    var v = Number(value);
    if (!Number.isFinite(v)) return "—";
    return v >= 10 ? v.toFixed(1) : String(Number(v.toPrecision(3)));
  }

  KMC.PreviewClient = PreviewClient;
  KMC.formatError = formatError;
  KMC.renderPalette = renderPalette;
  KMC.change = change;
})();
