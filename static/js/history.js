/* History: "select all", a count of the selected jobs, and the ZIP download through the API
   (a GET of /api/jobs/zip/?ids=… streams straight to a file; unfinished jobs are left out). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("bulk-form");
    if (!form) return;
    var all = document.getElementById("select-all");
    var count = document.getElementById("selected-count");
    var error = document.getElementById("bulk-error");
    var zip = document.getElementById("zip-button");
    var boxes = form.querySelectorAll('input[name="ids"]');
    var buttons = form.querySelectorAll('button[type="submit"]');
    function selected() { return Array.prototype.filter.call(boxes, function (b) { return b.checked; }); }
    function refresh() {
      var n = selected().length;
      count.textContent = n ? n + " selected" : "Select jobs to download or delete them.";
      buttons.forEach(function (b) { b.disabled = n === 0; });
      all.checked = n === boxes.length && n > 0;
      all.indeterminate = n > 0 && n < boxes.length;
      error.textContent = "";
    }
    all.addEventListener("change", function () { boxes.forEach(function (b) { b.checked = all.checked; }); refresh(); });
    boxes.forEach(function (b) { b.addEventListener("change", refresh); });
    zip.addEventListener("click", function (event) {
      event.preventDefault();
      var chosen = selected();
      var ready = chosen.filter(function (b) { return b.getAttribute("data-status") === "succeeded"; });
      if (!ready.length) { error.textContent = "None of the selected jobs has a result to download yet."; return; }
      error.textContent = ready.length < chosen.length
        ? (chosen.length - ready.length) + " selected job(s) without a result were left out of the ZIP." : "";
      var ids = ready.map(function (b) { return encodeURIComponent(b.value); }).join(",");
      var link = document.createElement("a");
      link.href = zip.getAttribute("data-zip-url") + "?ids=" + ids;
      link.download = "";
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
    refresh();
  });
})();
