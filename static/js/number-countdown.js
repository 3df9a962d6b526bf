// Live countdown to a number's release. The server rendered "N days left" in the banner and in
// the table alike; this refines every one of them to the same days, hours and minutes.
(function () {
  "use strict";
  function render(el) {
    var left = Date.parse(el.dataset.releaseAt) - Date.now();
    if (isNaN(left)) return;
    if (left <= 0) { el.textContent = "releasing now"; return; }
    var minutes = Math.floor(left / 60000);
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60);
    el.textContent = days + "d " + hours + "h " + (minutes % 60) + "m left";
  }
  function tick() { document.querySelectorAll("[data-release-at]").forEach(render); }
  tick();
  setInterval(tick, 30000);
})();
