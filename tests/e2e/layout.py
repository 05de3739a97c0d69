"""What a student sees of a page at a screen size: what scrolls sideways, which text is cut off,
which chart labels run into each other, how much of an element is on the first screen."""

# Text is cut when its box reaches past the nearest box that clips it (overflow not visible,
# Streamlit's ellipsis on buttons, metrics and select boxes) or past the right edge of the
# window. Elements the student cannot see (closed expanders, popovers) are skipped.
CLIPPED_TEXT = """() => {
  const cut = [];
  const right = window.innerWidth;
  const main = document.querySelector('[data-testid="stMain"]');
  for (const el of main.querySelectorAll("*")) {
    const texts = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    const text = texts.map((n) => n.textContent.trim()).join(" ");
    if (!text || !el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
    if (el.getBoundingClientRect().height === 0) continue;
    const range = document.createRange();  // the text's own extent, which may spill out of its element
    range.setStartBefore(texts[0]);
    range.setEndAfter(texts[texts.length - 1]);
    const box = range.getBoundingClientRect();
    const style = getComputedStyle(el);
    const clipsItself = style.overflowX !== "visible" || style.textOverflow === "ellipsis";
    if (clipsItself && el.scrollWidth > el.clientWidth + 1) {
      cut.push(`"${text.slice(0, 50)}" is cut off (${el.scrollWidth} px in ${el.clientWidth})`);
      continue;
    }
    if (box.right > right + 1) {
      cut.push(`"${text.slice(0, 50)}" runs past the window's edge (${Math.round(box.right)} > ${right})`);
      continue;
    }
    // Every box up to the page that clips, not only the nearest: a row of buttons can sit whole
    // in its own box while a column further out hides its end.
    for (let up = el.parentElement; up && up !== main; up = up.parentElement) {
      const s = getComputedStyle(up);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      const outer = up.getBoundingClientRect();
      if (box.right > outer.right + 1 || box.left < outer.left - 1) {
        const scrolls = s.overflowX === "auto" || s.overflowX === "scroll";  // a table the student can scroll
        if (scrolls && up.scrollWidth > up.clientWidth + 1) break;
        cut.push(`"${text.slice(0, 50)}" is cut by its box (${Math.round(box.right)} > ${Math.round(outer.right)})`);
        break;
      }
    }
  }
  return cut;
}"""

# Tick labels of a plotly chart that overlap their neighbours on the same axis.
OVERLAPPING_TICKS = """() => {
  const overlaps = [];
  for (const plot of document.querySelectorAll(".js-plotly-plot")) {
    for (const axis of ["xtick", "ytick"]) {
      const boxes = [...plot.querySelectorAll(`g.${axis} text`)]
        .filter((t) => t.textContent.trim())
        .map((t) => ({ text: t.textContent, box: t.getBoundingClientRect() }));
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i].box, b = boxes[j].box;
          const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (w > 1 && h > 1) overlaps.push(`"${boxes[i].text}" and "${boxes[j].text}" overlap`);
        }
    }
  }
  return overlaps;
}"""

SIDEWAYS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const page = document.documentElement;
  return {page: page.scrollWidth - page.clientWidth, main: main.scrollWidth - main.clientWidth};
}"""


def clipped_text(page) -> list[str]:
    return page.evaluate(CLIPPED_TEXT)


def overlapping_ticks(page) -> list[str]:
    return page.evaluate(OVERLAPPING_TICKS)


def sideways_scroll(page) -> dict:
    """How many pixels the page and its main area scroll sideways (0 when they do not)."""
    return page.evaluate(SIDEWAYS)


def on_first_screen(page, locator) -> float:
    """The fraction of the element inside the window as it is now, without scrolling."""
    box = locator.bounding_box()
    if box is None or box["width"] == 0:
        return 0.0
    view = page.viewport_size
    w = min(box["x"] + box["width"], view["width"]) - max(box["x"], 0)
    h = min(box["y"] + box["height"], view["height"]) - max(box["y"], 0)
    return max(w, 0) * max(h, 0) / (box["width"] * box["height"])


def hit_at_corners(page, locator) -> bool:
    """Whether a finger at each corner of the element (4 px in) lands on it, not on something over it."""
    return locator.evaluate(
        """el => {
          const box = el.getBoundingClientRect();
          const root = el.getRootNode();
          return [[box.left + 4, box.top + 4], [box.right - 4, box.top + 4],
                  [box.left + 4, box.bottom - 4], [box.right - 4, box.bottom - 4]]
            .every(([x, y]) => root.elementFromPoint(x, y) === el);
        }"""
    )
