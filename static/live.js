// Pages with a live stream (hx-sse): when the server says "reload", this page missed too much
// to catch up event by event (left open for a long time, or offline): load it again, fresh.
(function () {
  document.addEventListener("reload", function (event) {
    var source = event.target;
    if (source instanceof Element && source.hasAttribute("hx-sse:connect")) {
      window.location.reload();
    }
  });
})();
