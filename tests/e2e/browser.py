"""Driving the real app in Debian's chromium, shared by the browser tests and the classroom load
test: serving the app on a free port, and doing on a page what a student does."""

import contextlib
import io
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect

from mnistcore.hold import allow_epochs

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"  # screenshots; the README's come from here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_SECONDS = 60  # a server that is not up by then failed to start
# Epochs to train before a test looks: workers run at nice 10, so with every core busy (make
# test-stress) they get a tenth of a core and a Quick overfit epoch takes seconds, not 0.3 s.
TRAINING_MS = 300_000

# Strokes in canvas pixels (280 x 280), as a student draws the digit.
ONE = [[(140, 40), (140, 240)]]
SEVEN = [[(70, 55), (210, 55), (125, 240)]]
ZERO = [[(140 + 60 * math.sin(t / 24 * 2 * math.pi), 140 - 90 * math.cos(t / 24 * 2 * math.pi)) for t in range(26)]]


def chromium() -> Path:
    """Debian's chromium; a missing one is the caller's failure, never a skip."""
    return Path(os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS: dict[str, subprocess.Popen] = {}  # url -> the server, for a test that kills it


class Hold:
    """A served app's hold on its runs (mnistcore/hold.py): ``after(n)`` lets every run train n
    epochs and keeps it training there, however fast the machine; ``release()`` lets them go."""

    def __init__(self, folder: Path):
        self.path = folder / "hold"

    def after(self, epochs: int) -> None:
        allow_epochs(self.path, epochs)

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def serve_app(folder: Path, env: dict[str, str] | None = None):
    """`streamlit run` on a free port, with its runs under ``folder`` (and ``env``'s variables
    set); yields its URL. ``Hold(folder)`` holds its runs. The app must log no traceback while
    it serves."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(folder / "streamlit.log", "w+") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "streamlit_app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={
                **os.environ,
                "MNISTCORE_RUNS": str(folder / "runs"),
                "MNISTCORE_HOLD_FILE": str(Hold(folder).path),
                **(env or {}),
            },
        )
        try:
            _wait_until_up(url, server, log)
            SERVERS[url] = server
            yield url
        finally:
            SERVERS.pop(url, None)
            server.terminate()
            server.wait(timeout=10)
            log.seek(0)
            text = log.read()
    assert "Traceback" not in text, f"the app logged a traceback:\n{text}"


def _wait_until_up(url: str, server: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return
        time.sleep(0.2)
    log.seek(0)
    raise RuntimeError(f"streamlit did not start:\n{log.read()}")


def rss_mb(pid: int) -> float:
    """A process's resident memory now, in MB."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


PAD = "canvas[aria-label^='Drawing pad']"  # the Draw page's drawing pad (Playwright sees into its shadow root)
PAD_SIDE = 280  # its own pixels; a narrow screen shows it smaller


def to_screen(box: dict, x: float, y: float) -> tuple[float, float]:
    """A point in the pad's own pixels, where it is on the screen."""
    return box["x"] + x * box["width"] / PAD_SIDE, box["y"] + y * box["height"] / PAD_SIDE


def along(stroke):
    """The stroke's points with eight steps between each two, as a real drag sends them."""
    yield stroke[0]
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
        for i in range(1, 9):
            yield x0 + (x1 - x0) * i / 8, y0 + (y1 - y0) * i / 8


def draw(page, strokes) -> None:
    """Drag the mouse along each stroke (the pad's pixels, 280 x 280) as a student would."""
    box = page.locator(PAD).bounding_box()
    for stroke in strokes:
        page.mouse.move(*to_screen(box, *stroke[0]))
        page.mouse.down()
        for point in along(stroke):
            page.mouse.move(*to_screen(box, *point))
        page.mouse.up()


def draw_by_touch(page, strokes) -> None:
    """The same with a finger, through Chrome's touch events (the page needs has_touch)."""
    box = page.locator(PAD).bounding_box()
    cdp = page.context.new_cdp_session(page)
    for stroke in strokes:
        points = [to_screen(box, *point) for point in along(stroke)]
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]}
        )
        for x, y in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def ink(page) -> int:
    """How many pixels of the pad the student sees are lit."""
    return page.locator(PAD).evaluate(
        "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
        "      .filter((v, i) => i % 4 === 0 && v > 128).length"
    )


def progress(page):
    """The line under a training run: "Epoch 3 of 25, batch 10 of 32"."""
    return page.get_by_text(re.compile(r"^Epoch \d+ of \d+"))


def prediction(page):
    return page.get_by_test_id("stMetricValue").first


def go_to(page, section: str, title: str) -> None:
    """Through the menu at the top, as a student moves between pages (the session stays)."""
    page.get_by_test_id("stTopNav").get_by_text(section, exact=True).click()
    page.get_by_test_id("stTopNavPopover").get_by_role("menuitem", name=title).click()


def open_clothes(page, app_url: str) -> None:
    page.goto(f"{app_url}/clothes")
    expect(page.get_by_role("heading", name="Clothes: Fashion-MNIST")).to_be_visible()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def click_cell(page, true: int, said: int) -> None:
    """Click the confusion matrix's cell (row = true class, column = answer)."""
    heatmap = page.locator(".js-plotly-plot", has=page.locator("g.hm"))
    area = heatmap.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(area["x"] + (said + 0.5) / 10 * area["width"], area["y"] + (true + 0.5) / 10 * area["height"])


def epoch_markers(page):
    """Markers on the loss chart's first validation curve: one per finished epoch (wait on them
    with ``expect(...).to_have_count(n)``)."""
    return page.locator(".js-plotly-plot").first.locator(".scatterlayer .trace").nth(1).locator(".points path")


def stopped_after(page) -> int:
    """The epochs a stopped run finished, from its line "Stopped by the user in epoch N."."""
    line = page.get_by_text(re.compile(r"^Stopped by the user in epoch \d+"))
    expect(line).to_be_visible(timeout=30_000)
    return int(re.search(r"epoch (\d+)", line.inner_text()).group(1)) - 1


def screenshot(page, name: str, height: int) -> None:
    """The whole page: Streamlit scrolls inside its own container, so make the window tall."""
    ARTIFACTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(1000)  # charts re-lay themselves out to the new size
    page.screenshot(path=ARTIFACTS / name)
    page.set_viewport_size({"width": width, "height": 900})
