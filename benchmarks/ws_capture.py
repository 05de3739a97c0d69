"""What a real browser sends the server when a student opens the Draw page, draws a digit and
clears it: Streamlit's BackMsgs, read off the websocket by Playwright while headless chromium
does what a student does. Taken afresh at the start of every run, from the server under test,
so the widget and fragment ids in the messages are always this app's.

    python -m benchmarks.ws_capture   # prints what it captured, message by message
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import async_playwright, expect
from streamlit.proto.BackMsg_pb2 import BackMsg

from benchmarks.load_test import BLANK, STROKES, draw
from tests.e2e.browser import CHROMIUM_ARGS, chromium, prediction, serve_app

STREAM = "**/_stcore/stream"  # Streamlit's one websocket


@dataclass(frozen=True)
class Stroke:
    """One digit drawn in one stroke: what the pad sent while the pen moved and when it lifted,
    each with its time from the start of the stroke, in seconds. The last one is the whole digit."""

    digit: str
    sends: list[tuple[float, bytes]]


@dataclass(frozen=True)
class Capture:
    opening: bytes  # the first message of a page load: run the app for a new tab
    strokes: list[Stroke]
    clear: bytes  # the pad's Clear: its drawing becomes null


class _Tap:
    """Every BackMsg the page sends, stamped, passed on to the server unchanged."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, bytes]] = []

    def route(self, ws) -> None:
        server = ws.connect_to_server()

        def up(message) -> None:
            self.sent.append((time.monotonic(), bytes(message)))
            server.send(message)

        ws.on_message(up)
        server.on_message(ws.send)

    def since(self, start: float) -> list[tuple[float, bytes]]:
        return [(at - start, message) for at, message in self.sent if at >= start]


async def capture(url: str) -> Capture:
    """Open the Draw page in chromium, draw each of STROKES at a hand's pace and Clear after each."""
    if not chromium().exists():
        raise RuntimeError("Debian's chromium is missing: apt-get install chromium")
    tap = _Tap()
    strokes = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.route_web_socket(STREAM, tap.route)
        await page.goto(url)
        await expect(page.get_by_text(BLANK)).to_be_visible(timeout=60_000)
        opening = tap.sent[0][1]
        # A first stroke on a fresh page is drawn slowly (chromium warming up) and sends twice as
        # often as the rest: drawn once untimed, it leaves the ones kept at a hand's pace.
        await draw(page, STROKES["1"])
        await page.get_by_role("button", name="Clear the canvas").click()
        await expect(page.get_by_text(BLANK)).to_be_visible(timeout=30_000)
        for digit, path in STROKES.items():
            start = time.monotonic()
            await draw(page, path)
            await expect(prediction(page)).to_have_text(digit, timeout=30_000)
            await page.wait_for_timeout(500)  # the pad may still send the pen's last position
            strokes.append(Stroke(digit, tap.since(start)))
            start = time.monotonic()
            await page.get_by_role("button", name="Clear the canvas").click()
            await expect(page.get_by_text(BLANK)).to_be_visible(timeout=30_000)
            clear = tap.since(start)[-1][1]
        await browser.close()
    return Capture(opening, strokes, clear)


def describe(message: bytes) -> str:
    back = BackMsg.FromString(message)
    rerun = back.rerun_script
    states = {w.id.rsplit("-", 1)[-1]: w.WhichOneof("value") for w in rerun.widget_states.widgets}
    return (
        f"{back.WhichOneof('type')}, {len(message):,} bytes, query {rerun.query_string!r}, "
        f"fragment {rerun.fragment_id or '-'}, widgets {states}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, serve_app(Path(tmp)) as url:
        captured = asyncio.run(capture(url))
    print("opening:", describe(captured.opening))
    for stroke in captured.strokes:
        print(f"stroke {stroke.digit}:")
        for at, message in stroke.sends:
            print(f"  +{at:.2f} s", describe(message))
    print("clear:", describe(captured.clear))


if __name__ == "__main__":
    main()
