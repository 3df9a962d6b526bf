// Contrast of every visible element's own text against the nearest opaque background behind it
// (semi-transparent layers blended in), per WCAG 2.x AA: 4.5:1, or 3:1 for large text.
// Evaluated in the page by tests/test_page_walk_browser.py; returns one line per failure.
() => {
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const blend = (top, bottom) => { const a = top[3]; return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]); };
  const background = (el) => { const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let color = [255, 255, 255, 1]; for (const layer of layers.reverse()) color = blend(layer, color); return color; };
  const failures = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest("[hidden], noscript, script, style, title, option") || el.matches(":disabled")) continue;
    const style = getComputedStyle(el); const rect = el.getBoundingClientRect();
    if (style.visibility !== "visible" || rect.width === 0 || rect.height === 0 || parseFloat(style.opacity) === 0) continue;
    if (el.closest(".visually-hidden, .skip-link")) continue;  // off-screen until focused
    let fg = parse(el instanceof SVGElement ? style.fill : style.color); if (!fg) continue;
    const bg = background(el instanceof SVGElement ? el.closest("svg") : el); fg = blend(fg, bg);
    const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a); const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize); const bold = parseInt(style.fontWeight, 10) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) failures.push(`${ratio.toFixed(2)} < ${needed}: "${el.textContent.trim().slice(0, 40)}" (${el.tagName.toLowerCase()}.${el.className})`);
  }
  return failures;
}
