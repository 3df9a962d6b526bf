// Progressive enhancement for the top-up modal and the success page.
// Without this file the modal is a plain section with both forms, and the
// success page shows the balance as it was when the page was rendered.
(function () {
  "use strict";
  if (window.topupEnhanced) return; // the modal include may appear once per wallet
  window.topupEnhanced = true;

  function enhanceModal(root) {
    var panel = root.querySelector("[data-topup-panel]");
    var open = root.querySelector("[data-topup-open]");
    var close = root.querySelector("[data-topup-close]");
    var tablist = root.querySelector("[data-topup-tabs]");
    var tabs = Array.prototype.slice.call(tablist.querySelectorAll("[role=tab]"));
    var returnFocus = null;
    root.classList.add("topup-js");
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "true");
    close.hidden = false;
    tablist.hidden = false;

    function select(tab) {
      tabs.forEach(function (t) {
        var on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      });
    }
    function show(visible) {
      if (visible) returnFocus = document.activeElement;
      root.classList.toggle("topup-open", visible);
      if (visible) (tablist.querySelector("[aria-selected=true]") || tabs[0]).focus();
      else if (returnFocus && returnFocus.focus) returnFocus.focus();
    }
    tabs.forEach(function (t) { t.addEventListener("click", function () { select(t); }); });
    // Back from the server with errors: the same tab, open, errors listed in it.
    var reopen = root.getAttribute("data-topup-reopen");
    select(reopen === "auto" ? tabs[1] : tabs[0]);
    open.addEventListener("click", function () { show(true); });
    close.addEventListener("click", function () { show(false); });
    // Escape closes an open modal wherever the focus is (on arrival it may not be inside yet).
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && root.classList.contains("topup-open")) show(false);
    });
    // Typing a custom amount picks the "Custom" choice.
    var custom = root.querySelector("[data-custom-amount]");
    custom.addEventListener("input", function () { root.querySelector("[data-custom-choice]").checked = true; });
  }

  function pollStatus(section) {
    var url = section.getAttribute("data-topup-status-url");
    var message = section.querySelector("[data-topup-message]");
    var balance = section.querySelector("[data-topup-balance]");
    var delay = 1000;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          balance.textContent = data.balance_display;
          if (data.status === "succeeded") {
            message.innerHTML = "<strong>The credit has landed.</strong>";
            section.setAttribute("data-topup-status", "succeeded");
          } else if (data.status === "pending") {
            delay = Math.min(delay * 1.5, 15000);
            setTimeout(tick, delay);
          } else {
            message.textContent = "The payment did not go through (" + data.status + "); nothing was added.";
            section.setAttribute("data-topup-status", data.status);
          }
        })
        .catch(function () { setTimeout(tick, 5000); });
    }
    if (section.getAttribute("data-topup-status") === "pending") tick();
  }

  // "Top up" links elsewhere on a wallet page (balance card, top-up method section)
  // point at #top-up; with JavaScript they open the modal there instead of scrolling.
  function linkToModal(link) {
    var opener = document.querySelector("#top-up [data-topup-open]");
    if (!opener) return;
    link.addEventListener("click", function (e) { e.preventDefault(); opener.click(); });
  }

  function init() {
    document.querySelectorAll("[data-topup]").forEach(enhanceModal);
    document.querySelectorAll('a[href="#top-up"]').forEach(linkToModal);
    // Arriving from a banner's "Top up" link (…/wallet/#top-up) opens the modal at once.
    var opener = document.querySelector("#top-up [data-topup-open]");
    var withErrors = document.querySelector("#top-up [data-topup-reopen]");
    if (opener && (window.location.hash === "#top-up" || withErrors)) opener.click();
    document.querySelectorAll("[data-topup-status-url]").forEach(pollStatus);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
