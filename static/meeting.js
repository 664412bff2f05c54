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

// The facilitator's console.
(function () {
  // Keyboard shortcuts: a key clicks the button that carries it (data-shortcut, announced by
  // aria-keyshortcuts and shown in a <kbd> beside it): N next speaker, P start or pause the
  // speaker's time, I next item. Not while typing in a field, nor with a modifier key. Listened
  // for on the document: the buttons are replaced each time the live part is fetched again.
  var busy = false;
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey || event.repeat ||
        event.defaultPrevented) {
      return;
    }
    // While "are you sure?" is asked, a key must not act on the screen behind the question.
    if (document.getElementById("confirm")) {
      return;
    }
    var target = event.target;
    if (target instanceof Element && target.closest("input, select, textarea, [contenteditable]")) {
      return;
    }
    var key = (event.key || "").toLowerCase();
    if (key.length !== 1) {
      return;
    }
    var button = document.querySelector(
      '#meeting-live button[data-shortcut="' + CSS.escape(key) + '"]:not(:disabled)'
    );
    if (!button) {
      return;
    }
    event.preventDefault();
    // One press, one action: a second press before the screen has caught up would act on
    // a state the facilitator has not seen (the server would refuse it as stale anyway).
    if (busy) {
      return;
    }
    busy = true;
    setTimeout(function () { busy = false; }, 3000);
    button.click();
  });
  document.addEventListener("htmx:after:swap", function () {
    busy = false;
  });

  // After an action, the focus stays where it was: htmx puts it back on the same button
  // (same id); if that button is gone (the item just left), on the pane it was in.
  var pane = null;
  document.addEventListener("htmx:before:swap", function () {
    var active = document.activeElement;
    var within = active instanceof Element ? active.closest("[data-pane]") : null;
    pane = within ? within.id : null;
  });
  document.addEventListener("htmx:after:settle", function () {
    var active = document.activeElement;
    if (pane && (!active || active === document.body)) {
      var again = document.getElementById(pane);
      if (again) {
        (again.matches("details") ? again.querySelector("summary") : again).focus({
          preventScroll: true,
        });
      }
    }
    pane = null;
  });

  // A fold (<details>) the facilitator opened or closed stays so when the live part is
  // fetched again: its `open` attribute is the person's, not the server's.
  if (window.htmx && htmx.registerExtension) {
    htmx.registerExtension("consentir-folds", {
      htmx_before_morph_attr: function (element, detail) {
        return !(element.tagName === "DETAILS" && detail.attrName === "open");
      },
    });
  }
})();
