"""A mischievous student's browser: the values the page sends are rewritten in the websocket
message on their way to the server, as anyone can do with a browser's developer tools. Each
forged value ends in a message for that student; the server keeps its memory and logs no
traceback (``serve_app`` fails the test on one)."""

import base64
import io
import json
import struct
import zlib

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.e2e.conftest import SERVERS, serve_app
from tests.e2e.test_draw import ONE, draw, open_clothes, prediction
from tests.e2e.test_insight import click_cell

pytestmark = pytest.mark.e2e


class Forger:
    """Rewrites one widget's value in every message the page sends: ``forge`` takes the value
    as the page meant it (parsed JSON) and returns what the server gets instead."""

    def __init__(self, page, widget_id_suffix: str, field: str):
        self.suffix, self.field, self.forge = widget_id_suffix, field, None
        page.route_web_socket("**/_stcore/stream", self._route)

    def _route(self, ws):
        server = ws.connect_to_server()

        def from_page(message):
            if isinstance(message, bytes) and self.forge is not None:
                message = self._rewrite(message)
            server.send(message)

        ws.on_message(from_page)

    def _rewrite(self, message: bytes) -> bytes:
        back = BackMsg()
        back.ParseFromString(message)
        for widget in back.rerun_script.widget_states.widgets:
            if widget.id.endswith(self.suffix):
                forged = self.forge(json.loads(getattr(widget, self.field)))
                setattr(widget, self.field, forged if isinstance(forged, str) else json.dumps(forged))
        return back.SerializeToString()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def huge_png(side: int) -> bytes:
    """A PNG of side x side black pixels in a few hundred kilobytes."""
    raw = zlib.compress(b"".join(b"\x00" + bytes(side) for _ in range(side)), 9)
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def a_one(mode: str) -> bytes:
    image = Image.new("RGBA", (280, 280), "black")
    ImageDraw.Draw(image).line([(140, 40), (140, 240)], fill="white", width=20)
    return png(image.convert(mode))


def url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nnewpath 0 0 moveto 100 100 lineto stroke\n%%EOF\n"


def once_drawn(forge):
    """Forge the value sent after a stroke, not the empty one the canvas sends after Clear."""
    return lambda state: forge(state) if state["drawing"]["raw"].get("objects") else state


def with_data(data):
    return once_drawn(lambda state: {**state, "drawing": {**state["drawing"], "data": data}})


FORGED_CANVAS = [
    ("a 9000 x 9000 PNG", with_data(url(huge_png(9000))), "9,000 x 9,000 pixels"),
    ("a 15000 x 15000 PNG", with_data(url(huge_png(15000))), "too many pixels"),
    ("bad base64", with_data("data:image/png;base64,iVBORw0KGgo%%%%not base64"), "could not be read"),
    ("a URL without ;base64,", with_data("data:image/png,iVBORw0KGgo"), "could not be read"),
    ("an EPS payload", with_data(url(EPS)), "not a picture this app can read"),
    ("a number", with_data(7), "could not be read"),
    ("a drawing that is a string", once_drawn(lambda state: {**state, "drawing": "a string"}), "could not be read"),
]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A server of this module's own, so its memory is this module's to measure."""
    with serve_app(tmp_path_factory.mktemp("hostile")) as url:
        yield url


def test_forged_canvas_values_get_a_message_and_cost_the_server_nothing(browser, own_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    forger = Forger(page, "-canvas", "json_value")
    page.goto(own_server)
    draw(page, ONE)
    expect(prediction(page)).to_have_text("1")
    server = SERVERS[own_server].pid
    before = rss_mb(server)
    for what, forge, says in FORGED_CANVAS:
        forger.forge = forge
        page.get_by_role("button", name="Clear the canvas").click()
        expect(page.get_by_text("Draw a digit to see what the network thinks it is.")).to_be_visible()
        draw(page, ONE)
        expect(page.get_by_text(says), what).to_be_visible()
        expect(page.get_by_test_id("stMetric"), what).to_have_count(0)
    grown = rss_mb(server) - before
    assert grown < 150, f"the server grew by {grown:.0f} MB"  # the 9000 x 9000 PNG took it up 2.7 GB

    # A gray-and-alpha PNG is a drawing like any other; junk beside it in the value is ignored.
    junk_beside = once_drawn(lambda state: {**state, "backgroundFit": {"junk": 1}})
    for forge, strokes in ((with_data(url(a_one("LA"))), [[(60, 60), (80, 80)]]), (junk_beside, ONE)):
        forger.forge = forge
        page.get_by_role("button", name="Clear the canvas").click()
        draw(page, strokes)  # with the LA forgery, whatever is drawn, what arrives is a 1
        expect(prediction(page)).to_have_text("1")
    forger.forge = None
    page.get_by_role("button", name="Clear the canvas").click()
    draw(page, ONE)
    expect(prediction(page)).to_have_text("1")
    page.close()


def test_a_forged_confusion_matrix_selection_changes_nothing(browser, own_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    forger = Forger(page, "-confusion-fashion-cnn", "string_value")
    page.goto(f"{own_server}/evaluate")
    shown = page.get_by_text("test images of", exact=False).first
    expect(shown).to_be_visible()
    opened_on = shown.inner_text()
    for point in ({"curve_number": 1, "point_index": 999}, {"curve_number": 1, "point_index": "abc"},
                  {"curve_number": 1, "point_index": -1}, {"curve_number": 1, "point_index": True}, "a string"):
        forger.forge = lambda value, point=point: {**value, "selection": {**value["selection"], "points": [point]}}
        click_cell(page, 4, 2)
        page.wait_for_timeout(500)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(shown).to_have_text(opened_on)
    forger.forge = None
    click_cell(page, 1, 1)
    expect(page.get_by_text("test images of Trouser the model called Trouser", exact=False)).to_be_visible()
    page.close()


def test_an_upload_name_is_shown_as_text_never_as_markdown(browser, own_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    fetched = []
    page.on("request", lambda request: fetched.append(request.url) if "evil" in request.url else None)
    open_clothes(page, own_server)
    page.get_by_role("radio", name="Upload a picture").click()
    name = "![x](http://127.0.0.1:9/evil.png) [click](http://127.0.0.1:9/evil).png"
    shirt = Image.new("RGB", (240, 160), "white")
    ImageDraw.Draw(shirt).rectangle((60, 30, 180, 150), fill="black")
    page.locator("input[type=file]").set_input_files({"name": name, "mimeType": "image/png", "buffer": png(shirt)})
    expect(page.get_by_text("What the model sees (28x28)")).to_be_visible()
    page.locator("input[type=file]").set_input_files({"name": name, "mimeType": "image/png",
                                                      "buffer": b"not a picture " * 10})
    expect(page.get_by_text("not a picture this app can read")).to_be_visible()
    page.wait_for_timeout(500)
    assert fetched == []
    assert page.locator("a[href*='evil']").count() == 0
    page.close()
