// Keeps a wallet page's balance, state badge and banners current without a reload:
// asks the server (alerts:wallet_live) every data-poll-seconds and says how fresh the
// figure is. Without this file the page shows the balance as of its load.
(function () {
  "use strict";
  if (window.liveBalance) return; // the card include may appear more than once
  window.liveBalance = true;

  function start(card) {
    var url = card.dataset.liveUrl;
    var every = Math.max(1, parseInt(card.dataset.pollSeconds, 10) || 30) * 1000;
    var balance = card.querySelector("[data-balance]");
    var badge = card.querySelector("[data-badge]");
    var updated = card.querySelector("[data-updated]");
    var fetchedAt = Date.now();

    function age() {
      var seconds = Math.round((Date.now() - fetchedAt) / 1000);
      updated.textContent = "Live balance in USD, updated " + seconds + " s ago.";
    }
    function apply(data) {
      balance.textContent = data.balance_display;
      balance.dataset.balance = data.balance;
      badge.innerHTML = data.badge_html;
      var banners = document.querySelector(".banners");
      if (banners) {
        var fresh = document.createElement("div");
        fresh.innerHTML = data.banners_html;
        var replacement = fresh.querySelector(".banners");
        if (replacement) banners.replaceWith(replacement);
      }
      fetchedAt = Date.now();
      age();
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data) apply(data); })
        .catch(function () { /* offline for a moment: the age keeps counting */ })
        .finally(function () { setTimeout(poll, every); });
    }
    setInterval(age, 1000);
    setTimeout(poll, every);
  }
  document.querySelectorAll(".balance-card[data-live-url]").forEach(start);
})();
