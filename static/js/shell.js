// Behaviour of the app shell, kept out of inline handlers so the Content Security Policy
// can refuse every inline script.
document.addEventListener("DOMContentLoaded", () => {
  const switcher = document.getElementById("workspace-switcher");
  if (switcher) {
    const go = () => { window.location = switcher.value; };
    switcher.addEventListener("change", go);
    switcher.form.addEventListener("submit", (event) => { event.preventDefault(); go(); });
  }
  // Phones: the navigation folds behind "Menu" so the page starts on the first screen; it
  // stays open on wider screens (where its toggle is hidden) whatever happened on a phone.
  const menu = document.querySelector("[data-nav-menu]");
  if (menu) {
    const phone = window.matchMedia("(max-width: 720px)");
    const fit = () => { menu.open = !phone.matches; };
    fit();
    phone.addEventListener("change", fit);
  }
  // Tables wider than the screen scroll sideways: say so where they do.
  const markScrollable = () => {
    document.querySelectorAll(".table-wrap").forEach((wrap) => {
      wrap.classList.toggle("is-scrollable", wrap.scrollWidth > wrap.clientWidth + 1);
    });
  };
  markScrollable();
  window.addEventListener("resize", markScrollable);
  // The conversation composer is a stand-in: it never sends.
  document.querySelectorAll("form.composer").forEach((form) => {
    form.addEventListener("submit", (event) => event.preventDefault());
  });
});
