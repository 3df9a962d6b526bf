// Behaviour of the app shell, kept out of inline handlers so the Content Security Policy
// can refuse every inline script.
document.addEventListener("DOMContentLoaded", () => {
  const switcher = document.getElementById("workspace-switcher");
  if (switcher) {
    const go = () => { window.location = switcher.value; };
    switcher.addEventListener("change", go);
    switcher.form.addEventListener("submit", (event) => { event.preventDefault(); go(); });
  }
  // The conversation composer is a stand-in: it never sends.
  document.querySelectorAll("form.composer").forEach((form) => {
    form.addEventListener("submit", (event) => event.preventDefault());
  });
});
