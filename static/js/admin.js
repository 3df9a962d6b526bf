// Admin pages: the CSP refuses inline event handlers, so the controls that django-import-export's
// templates bind with onchange="..." are bound here instead (and the refused attribute removed).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input.select-toggle[onchange]").forEach((toggle) => {
    toggle.removeAttribute("onchange");
    toggle.id = toggle.id || "select-all-toggle";
    toggle.addEventListener("change", () => {
      document.querySelectorAll('.selectable-field-export-row input[type="checkbox"]').forEach((box) => {
        box.checked = toggle.checked;
      });
    });
  });
});
