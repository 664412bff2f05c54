// Meeting screens: the running timers count down between two updates from the server.
// Without this script, a timer shows the time left when the page was loaded.
(function () {
  function tick() {
    document.querySelectorAll(".timer[data-running]").forEach(function (timer) {
      var left = Math.max(0, parseInt(timer.dataset.remaining, 10) - 1);
      timer.dataset.remaining = String(left);
      var shown = timer.querySelector("time");
      if (shown) {
        shown.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      }
      timer.classList.toggle("timer--over", left === 0);
    });
  }
  setInterval(tick, 1000);
})();
