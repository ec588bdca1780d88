// Live refresh by short polling: every element with data-refresh-url is re-rendered from that
// URL every data-refresh-ms milliseconds (a cheap server-rendered fragment, 304 when unchanged).
// Each poll is one short request, so no gunicorn worker is held open. Polling pauses while the
// tab is hidden or the "live" box is unticked, and stops when the session has ended.
(function () {
  "use strict";

  function indicator(state, text) {
    var dot = document.getElementById("live-dot");
    var label = document.getElementById("live-label");
    if (dot) { dot.className = "dot " + state; }
    if (label && text) { label.textContent = text; }
  }

  function start(el) {
    var url = el.getAttribute("data-refresh-url");
    var every = parseInt(el.getAttribute("data-refresh-ms") || "2000", 10);
    var toggle = document.getElementById("live-toggle");
    var etag = null;

    function schedule() { window.setTimeout(tick, every); }

    function tick() {
      if (document.hidden || (toggle && !toggle.checked)) {
        indicator("", "paused");
        schedule();
        return;
      }
      var headers = { "X-Requested-With": "fetch" };
      if (etag) { headers["If-None-Match"] = etag; }
      fetch(url, { headers: headers, credentials: "same-origin", redirect: "manual",
                   cache: "no-store" })
        .then(function (response) {
          if (response.type === "opaqueredirect" || response.status === 401) {
            indicator("err", "signed out: reload the page");
            return "stop";
          }
          if (response.status === 304) { return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          etag = response.headers.get("ETag");
          return response.text();
        })
        .then(function (html) {
          if (html === "stop") { return; }
          if (typeof html === "string") { el.innerHTML = html; }
          indicator("on", "live " + new Date().toISOString().substring(11, 19) + " UTC");
          schedule();
        })
        .catch(function () {
          indicator("err", "refresh failed: retrying");
          schedule();
        });
    }

    schedule();
  }

  document.querySelectorAll("[data-refresh-url]").forEach(start);
})();
