/* The job page's error heat-map and cluster map: one preview request (views: both) of the job's
   upload with the job's options, made when a view is first asked for. */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("result-views");
    if (!root) return;
    var buttons = root.querySelectorAll("[data-result-view]");
    var figure = root.querySelector(".result-view");
    var image = document.getElementById("result-view-image");
    var legend = document.getElementById("result-heatmap-legend");
    var status = document.getElementById("result-views-status");
    var views = null;   // the preview's answer, once it came
    var loading = null; // its promise

    function load() {
      if (!loading) {
        var options = JSON.parse(root.getAttribute("data-options"));
        options.views = ["heatmap", "clusters"];
        status.textContent = "Computing the views…";
        loading = KMC.request(root.getAttribute("data-preview-url"), { method: "POST", body: options }).then(function (data) {
          views = data;
          status.textContent = "";
          return data;
        }, function (err) {
          loading = null;  // a 429 or a lost connection: the next click tries again
          status.textContent = err.message;
          throw err;
        });
      }
      return loading;
    }

    function show(view) {
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.getAttribute("data-result-view") === view)); });
      load().then(function () {
        image.src = views[view];
        image.alt = view === "heatmap" ? "Error heat-map of the result" : "Cluster map: each pixel painted by its cluster";
        legend.hidden = view !== "heatmap";
        document.getElementById("result-heatmap-max").textContent = KMC.formatError(views.heatmap_max_error);
        document.getElementById("result-heatmap-units").textContent = views.heatmap_units ? "Units: " + views.heatmap_units + "." : "";
        figure.hidden = false;
        root.setAttribute("data-view", view);
      }, function () { /* the message is in the status line */ });
    }

    buttons.forEach(function (button) {
      button.addEventListener("click", function () { show(button.getAttribute("data-result-view")); });
    });
  });
})();
