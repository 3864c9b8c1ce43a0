/* Shared helpers for every page: CSRF, JSON requests, byte formatting, the phone menu. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function formatBytes(n) {
    if (n === null || n === undefined || isNaN(n)) return "—";
    var units = ["B", "KB", "MB", "GB"];
    var i = 0;
    var v = Number(n);
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return (i === 0 ? String(v) : v.toFixed(v >= 100 ? 0 : 1)) + " " + units[i];
  }

  /* fetch() with the session cookie, CSRF header and JSON decoding; rejects with a readable message. */
  function request(url, options) {
    options = options || {};
    var headers = Object.assign({ "X-CSRFToken": csrfToken(), "Accept": "application/json" }, options.headers || {});
    var body = options.body;
    if (body && !(body instanceof FormData) && typeof body !== "string") {
      body = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    return fetch(url, { method: options.method || "GET", headers: headers, body: body, credentials: "same-origin" })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        var parse = type.indexOf("json") >= 0 ? response.json() : response.text().then(function (t) { return { detail: t }; });
        return parse.then(function (data) {
          if (!response.ok) {
            var err = new Error(errorMessage(data, response.status));
            err.status = response.status;
            err.data = data;
            throw err;
          }
          return data;
        });
      });
  }

  function errorMessage(data, status) {
    if (data && typeof data === "object") {
      if (typeof data.error === "string") return data.error;
      if (typeof data.detail === "string" && data.detail.length < 300) return data.detail;
      var parts = [];
      Object.keys(data).forEach(function (key) {
        var value = data[key];
        if (Array.isArray(value)) parts.push((key === "non_field_errors" || key === "__all__" ? "" : key + ": ") + value.join(" "));
        else if (typeof value === "string") parts.push(value);
      });
      if (parts.length) return parts.join(" ");
    }
    return "The server answered " + status + ".";
  }

  /* A polite live region so screen readers hear status changes. */
  var live;
  function announce(text) {
    if (!live) {
      live = document.createElement("div");
      live.className = "visually-hidden";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  function setupNav() {
    var toggle = document.querySelector(".nav-toggle");
    var list = document.getElementById("nav-list");
    if (!toggle || !list) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      list.classList.toggle("is-open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && list.classList.contains("is-open")) {
        list.classList.remove("is-open");
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }

  /* Buttons that ask before a destructive form submits: data-confirm="message". */
  function setupConfirm() {
    document.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      var message = (submitter && submitter.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
      if (message && !window.confirm(message)) event.preventDefault();
    });
  }

  /* Copy buttons: data-copy-target="#id". */
  function setupCopy() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-copy-target]");
      if (!button) return;
      var target = document.querySelector(button.getAttribute("data-copy-target"));
      if (!target) return;
      var text = target.value !== undefined ? target.value : target.textContent;
      var done = function () { button.textContent = "Copied"; announce("Copied to the clipboard"); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text.trim()).then(done, function () { selectText(target); });
      } else {
        selectText(target);
        try { if (document.execCommand("copy")) done(); } catch (e) { /* selection stays for manual copy */ }
      }
    });
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupNav();
    setupConfirm();
    setupCopy();
  });

  window.KMC = { csrfToken: csrfToken, formatBytes: formatBytes, request: request, errorMessage: errorMessage, announce: announce };
})();
