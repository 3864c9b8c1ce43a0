/* The batch summary: one row per file (before -> after bytes, change), the totals and "Download
   all" (the API's ZIP), filled in as the jobs finish by polling the dashboard's status view. */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var ACTIVE = { queued: true, running: true };

  function BatchSummary(root, options) {
    this.root = root;
    this.statusUrl = options.statusUrl;
    this.zipUrl = options.zipUrl;
    this.onJob = options.onJob || function () {};
    this.rows = root.querySelector("#batch-rows");
    this.totals = root.querySelector("#batch-totals");
    this.download = root.querySelector("#batch-download");
    this.jobs = {};   // id -> latest status JSON
    this.order = [];
    this.timer = null;
  }

  /* jobs: the API's job objects (POST /api/jobs/batch/). */
  BatchSummary.prototype.start = function (jobs) {
    var self = this;
    this.jobs = {};
    this.order = jobs.map(function (job) { return job.id; });
    jobs.forEach(function (job) {
      var stats = job.stats || {};
      self.jobs[job.id] = { id: job.id, status: job.status, name: job.original_name,
                            input_bytes: stats.input_bytes, output_bytes: stats.output_bytes };
    });
    this.polled = false;  // finished only once the status view confirmed it (with links and bytes)
    this.root.hidden = false;
    this.render();
    this.poll();
  };

  BatchSummary.prototype.poll = function () {
    var self = this;
    window.clearTimeout(this.timer);
    var query = this.order.map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
    KMC.request(this.statusUrl + "?" + query)
      .then(function (data) {
        (data.jobs || []).forEach(function (job) { self.jobs[job.id] = job; self.onJob(job); });
        self.polled = true;
        self.render();
      })
      .catch(function () { /* retried on the next tick */ })
      .then(function () {
        if (self.order.some(function (id) { return ACTIVE[self.jobs[id].status]; })) {
          self.timer = window.setTimeout(self.poll.bind(self), POLL_MS);
        }
      });
  };

  BatchSummary.prototype.render = function () {
    var self = this;
    this.rows.textContent = "";
    var done = [], before = 0, after = 0, active = 0, failed = 0;
    this.order.forEach(function (id) {
      var job = self.jobs[id];
      var tr = document.createElement("tr");
      tr.setAttribute("data-job-id", id);
      tr.setAttribute("data-status", job.status);
      var name = document.createElement("td");
      if (job.url) {
        var link = document.createElement("a");
        link.href = job.url;
        link.textContent = job.name || id;
        name.appendChild(link);
      } else {
        name.textContent = job.name || id;
      }
      var succeeded = job.status === "succeeded" && job.output_bytes;
      tr.append(name,
        cell("Before", KMC.formatBytes(job.input_bytes), "num"),
        cell("After", succeeded ? KMC.formatBytes(job.output_bytes) : "—", "num"),
        cell("Change", succeeded ? KMC.change(job.input_bytes, job.output_bytes) : "—", "num"),
        cell("Status", job.status_display || job.status, ""));
      self.rows.appendChild(tr);
      if (succeeded) { done.push(id); before += job.input_bytes; after += job.output_bytes; }
      if (ACTIVE[job.status]) active += 1;
      if (job.status === "failed" || job.status === "cancelled") failed += 1;
    });
    var text = done.length
      ? done.length + " image" + (done.length === 1 ? "" : "s") + ", " + KMC.formatBytes(before) + " \u2192 " + KMC.formatBytes(after) + ", " + KMC.change(before, after)
      : "No result yet.";
    if (active) text += " · " + active + " still compressing…";
    if (failed) text += " · " + failed + " failed";
    this.totals.textContent = text;
    this.root.setAttribute("data-finished", String(this.polled && active === 0));
    if (done.length) {
      this.download.href = this.zipUrl + "?ids=" + done.join(",");
      this.download.removeAttribute("aria-disabled");
      this.download.textContent = done.length === this.order.length ? "Download all" : "Download " + done.length + " finished";
    } else {
      this.download.href = "#";
      this.download.setAttribute("aria-disabled", "true");
    }
  };

  /* label: the column's name, shown beside the value where a phone stacks the row (table.stack-narrow). */
  function cell(label, text, className) {
    var td = document.createElement("td");
    td.setAttribute("data-label", label);
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  KMC.BatchSummary = BatchSummary;
})();
