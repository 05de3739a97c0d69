"""The Draw page's speed on this CPU:

1. canvas data to probabilities on the server, as the page does it: the canvas's data: URL
   checked and decoded by the guarded reader, the MNIST recipe, the shipped CNN (and the other
   digit models, for comparison); p50 and p95 over many real-looking drawings. Target: CNN p95
   <= 20 ms.
2. time from `streamlit run` to the first page being interactive (the canvas drawn and the
   "Draw a digit" prompt shown) in Debian's chromium. Target: <= 10 s.

    python -m benchmarks.draw_latency
"""

import base64
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from mnistcore.catalog import shipped_models
from mnistcore.checkpoints import load_checkpoint
from mnistcore.image_reader import read_canvas
from mnistcore.inference import classify
from mnistcore.preprocess import drawing_steps
from tests.e2e.browser import CHROMIUM_ARGS, PAD, chromium, serve_app

DRAWINGS = 300


def canvas_state(rng: np.random.Generator) -> dict:
    """A 280x280 RGBA canvas with a few random brush strokes, in the state the canvas component sends."""
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    draw = ImageDraw.Draw(image)
    for stroke in range(rng.integers(1, 4)):
        points = rng.integers(40, 240, size=(rng.integers(2, 8), 2))
        if stroke == 0:  # one stroke of 100 px at least: a lone dot gets a message, not an answer
            points[-1] = np.where(points[0] < 140, points[0] + 100, points[0] - 100)
        draw.line([tuple(p) for p in points], fill=(255, 255, 255, 255), width=20, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"drawing": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}


def latency(model, states: list[dict]) -> np.ndarray:
    times = []
    for state in states:
        started = time.perf_counter()
        steps = drawing_steps(read_canvas(state), light_ink=True)
        classify(model, steps.as_input(), "mnist")
        times.append(time.perf_counter() - started)
    return np.array(times) * 1000


def time_to_interactive() -> float:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_ARGS)
        started = time.perf_counter()
        with serve_app(Path(folder)) as url:
            page = browser.new_page()
            page.goto(url)
            page.locator(PAD).wait_for(timeout=60_000)
            page.get_by_text("Draw a digit to see what the network thinks it is.").wait_for(timeout=60_000)
            ready = time.perf_counter() - started
        browser.close()
        return ready


def main() -> None:
    rng = np.random.default_rng(0)
    states = [canvas_state(rng) for _ in range(DRAWINGS)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {DRAWINGS} drawings, 280x280 RGBA")
    for entry in shipped_models("mnist"):
        model, _ = load_checkpoint(entry.path)
        latency(model, states[:20])  # warm-up
        ms = latency(model, states)
        target = "  (target p95 <= 20 ms)" if entry.card.arch == "cnn" else ""
        print(
            f"canvas -> probabilities, {entry.name:13s}: p50 {np.percentile(ms, 50):5.1f} ms, "
            f"p95 {np.percentile(ms, 95):5.1f} ms, max {ms.max():5.1f} ms{target}"
        )
    print(f"streamlit run -> first page interactive: {time_to_interactive():.1f} s  (target <= 10 s)")


if __name__ == "__main__":
    main()
