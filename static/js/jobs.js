/* The live job list: polls while any job is queued or running, re-renders changed rows from
   server HTML, and runs cancel / re-run through the same forms the page has without JS. */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var HIDDEN_POLL_MS = 5000; // a background tab checks less often
  var ACTIVE = { queued: true, running: true };

  function JobList(list) {
    this.list = list;
    this.statusUrl = list.getAttribute("data-status-url");
    this.timer = null;
    this.empty = document.getElementById("jobs-empty");
    this.dialog = document.getElementById("rerun-dialog");
    list.addEventListener("submit", this.onSubmit.bind(this));
    list.addEventListener("click", this.onClick.bind(this));
    if (this.dialog) this.setupDialog();
    this.schedule();
  }

  JobList.prototype.activeIds = function () {
    var ids = [];
    this.list.querySelectorAll("[data-job-id]").forEach(function (row) {
      if (ACTIVE[row.getAttribute("data-status")]) ids.push(row.getAttribute("data-job-id"));
    });
    return ids;
  };

  JobList.prototype.schedule = function () {
    if (this.timer || this.activeIds().length === 0) return;
    this.timer = window.setTimeout(this.poll.bind(this), document.hidden ? HIDDEN_POLL_MS : POLL_MS);
  };

  JobList.prototype.poll = function () {
    var self = this;
    self.timer = null;
    var ids = self.activeIds();
    if (!ids.length) return;
    var query = ids.map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
    KMC.request(self.statusUrl + "?" + query)
      .then(function (data) { (data.jobs || []).forEach(function (job) { self.update(job); }); })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .then(function () { self.schedule(); });
  };

  /* Replace a row when its state changed, keeping keyboard focus on the same control. */
  JobList.prototype.update = function (job) {
    var row = this.list.querySelector('[data-job-id="' + job.id + '"]');
    var fresh = toElement(job.html);
    if (!row) { this.add(job.html); return; }
    if (row.getAttribute("data-state") === fresh.getAttribute("data-state")) return;
    var focused = document.activeElement && row.contains(document.activeElement) ? focusKey(document.activeElement) : null;
    row.replaceWith(fresh);
    if (focused) {
      var target = fresh.querySelector(focused) || fresh.querySelector("a");
      if (target) target.focus();
    }
    if (!ACTIVE[job.status]) {
      var name = (fresh.querySelector(".job-title a") || {}).textContent || "A job";
      KMC.announce(name + ": " + job.status);
    }
  };

  JobList.prototype.add = function (html) {
    var row = toElement(html);
    var existing = this.list.querySelector('[data-job-id="' + row.getAttribute("data-job-id") + '"]');
    if (existing) existing.replaceWith(row); else this.list.insertBefore(row, this.list.firstChild);
    if (this.empty) this.empty.hidden = true;
    this.schedule();
    return row;
  };

  JobList.prototype.onSubmit = function (event) {
    var form = event.target;
    if (form.getAttribute("data-job-action") !== "cancel") return;
    event.preventDefault();
    var self = this;
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    KMC.request(form.action, { method: "POST", body: new FormData(form) })
      .then(function (data) { self.update(data.job); self.schedule(); })
      .catch(function (err) {
        if (button) button.disabled = false;
        KMC.announce(err.message);
        window.alert(err.message);
      });
  };

  JobList.prototype.onClick = function (event) {
    var link = event.target.closest('[data-job-action="rerun"]');
    if (!link || !this.dialog || typeof this.dialog.showModal !== "function") return;
    event.preventDefault();
    var row = link.closest("[data-job-id]");
    var form = this.dialog.querySelector("form");
    form.action = link.getAttribute("data-rerun-url");
    form.elements.n_colors.value = row.getAttribute("data-k");
    form.elements.color_space.value = row.getAttribute("data-color-space");
    form.elements.dither.value = row.getAttribute("data-dither");
    form.elements.output_format.value = row.getAttribute("data-format");
    document.getElementById("rerun-error").textContent = "";
    this.returnFocus = link;
    this.dialog.showModal();
    form.elements.n_colors.focus();
  };

  JobList.prototype.setupDialog = function () {
    var self = this;
    var dialog = this.dialog;
    var form = dialog.querySelector("form");
    dialog.querySelector("[data-close-dialog]").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { if (self.returnFocus) self.returnFocus.focus(); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById("rerun-error");
      var kInput = form.elements.n_colors, k = Number(kInput.value);
      // The input carries the engine's bounds and message (min, max, data-message).
      if (!Number.isInteger(k) || k < Number(kInput.min) || k > Number(kInput.max)) { error.textContent = kInput.getAttribute("data-message"); return; }
      KMC.request(form.action, { method: "POST", body: new FormData(form) })
        .then(function (data) {
          var row = self.add(data.job.html);
          self.returnFocus = row.querySelector("a");
          dialog.close();
          KMC.announce("Re-run queued");
        })
        .catch(function (err) { error.textContent = err.message; });
    });
  };

  function toElement(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function focusKey(element) {
    var form = element.closest("form");
    if (form && form.getAttribute("data-job-action")) return '[data-job-action="' + form.getAttribute("data-job-action") + '"] button';
    if (element.getAttribute("data-job-action")) return '[data-job-action="' + element.getAttribute("data-job-action") + '"]';
    return null;
  }

  KMC.JobList = JobList;
})();
