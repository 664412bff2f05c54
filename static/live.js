// Pages with a live stream (hx-sse).
//
// 1. When the server says "reload", this page missed too much to catch up event by event (left
//    open for a long time, or offline): load it again, fresh.
//
// 2. A fetch that an event of the stream triggers (an element's `hx-trigger="… from:#sse"`, e.g.
//    the proposal page's round) is made by every page open on it at the same moment. So that
//    hundreds of pages do not all arrive at once, each waits a random 0–SPREAD_MS first; and a
//    fetch the server refuses for now (503 or 429, "come back after Retry-After seconds") is
//    sent again after Retry-After plus a random 0–JITTER_MS, as long as it takes: the refusal
//    is never swapped into the page, and the page never stays behind. htmx's own timeout on
//    the request (htmx.config.defaultTimeout) still ends it. bench/live.py (--scenario
//    fragments) reads these numbers here and does the same.
(function () {
  "use strict";

  var SPREAD_MS = 300;
  var JITTER_MS = 1000;
  var RETRY_AFTER_DEFAULT_S = 1; // a refusal without a (valid) Retry-After
  var RETRY_AFTER_MAX_S = 60;

  document.addEventListener("reload", function (event) {
    var source = event.target;
    if (source instanceof Element && source.hasAttribute("hx-sse:connect")) {
      window.location.reload();
    }
  });

  // The event that triggered the request came from an event stream's element.
  function fromStream(ctx) {
    var source = ctx.sourceEvent && ctx.sourceEvent.target;
    return (
      source instanceof Element &&
      source.hasAttribute("hx-sse:connect") &&
      ctx.request.method === "GET"
    );
  }

  function aborted() {
    return new DOMException("The live fetch was aborted.", "AbortError");
  }

  // Wait `ms`, or less if the request is aborted meanwhile (a newer event replaced it, the
  // page left, htmx's timeout): htmx then takes it as an aborted fetch.
  function pause(ms, signal) {
    return new Promise(function (resolve, reject) {
      if (signal && signal.aborted) {
        reject(aborted());
        return;
      }
      var timer = setTimeout(function () {
        if (signal) signal.removeEventListener("abort", stop);
        resolve();
      }, ms);
      function stop() {
        clearTimeout(timer);
        reject(aborted());
      }
      if (signal) signal.addEventListener("abort", stop, { once: true });
    });
  }

  // Retry-After in seconds (a number of seconds, or an HTTP date), within bounds.
  function retryAfter(response) {
    var value = (response.headers.get("Retry-After") || "").trim();
    var seconds = RETRY_AFTER_DEFAULT_S;
    if (/^\d+$/.test(value)) {
      seconds = Number(value);
    } else if (value) {
      var at = Date.parse(value);
      if (!isNaN(at)) seconds = (at - Date.now()) / 1000;
    }
    return Math.min(Math.max(seconds, 0), RETRY_AFTER_MAX_S);
  }

  function refused(response) {
    return response.status === 503 || response.status === 429;
  }

  async function liveFetch(url, init) {
    await pause(Math.random() * SPREAD_MS, init.signal);
    for (;;) {
      var response = await fetch(url, init);
      if (!refused(response)) return response;
      var wait = retryAfter(response) * 1000 + Math.random() * JITTER_MS;
      if (response.body) response.body.cancel().catch(function () {});
      document.dispatchEvent(
        new CustomEvent("consentir:live-retry", {
          detail: { url: url, status: response.status, wait: wait },
        })
      );
      await pause(wait, init.signal);
    }
  }

  // htmx 4 fetches with `ctx.fetch` when an extension or a listener sets it (htmx.js,
  // #issueRequest: `ctx.fetch ||= window.fetch`), after "htmx:config:request".
  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && fromStream(ctx)) ctx.fetch = liveFetch;
  });
})();
