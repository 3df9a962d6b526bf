// Live countdown to a number's release; the server already rendered "in N days",
// this only refines it to days, hours and minutes while the page is open.
(function () {
  "use strict";
  function render(el) {
    var left = Date.parse(el.dataset.releaseAt) - Date.now();
    if (isNaN(left)) return;
    if (left <= 0) { el.textContent = "releasing now"; return; }
    var minutes = Math.floor(left / 60000);
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60);
    el.textContent = "in " + days + "d " + hours + "h " + (minutes % 60) + "m";
  }
  function tick() { document.querySelectorAll(".countdown[data-release-at]").forEach(render); }
  tick();
  setInterval(tick, 30000);
})();
