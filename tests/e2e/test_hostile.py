"""A mischievous student's browser: the values the page sends are rewritten in the websocket
message on their way to the server, as anyone can do with a browser's developer tools. Each
forged value ends in a message for that student; the server keeps its memory and logs no
traceback (``serve_app`` fails the test on one)."""

import json

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.e2e.browser import ONE, SERVERS, click_cell, draw, open_clothes, png_bytes, prediction, rss_mb, serve_app
from tests.forged import EPS, data_url, huge_png

pytestmark = pytest.mark.e2e


class Forger:
    """Rewrites one widget's value in every message the page sends: ``forge`` takes the value
    as the page meant it (parsed JSON) and returns what the server gets instead. Counts the
    script runs the server completes after the last forged message, so a test knows when that
    message has been handled (a run still going when it came is cut short, and not counted)."""

    def __init__(self, page, widget_id_suffix: str, field: str):
        self.page, self.suffix, self.field, self.forge = page, widget_id_suffix, field, None
        self.forged = 0  # forged messages sent to the server
        self.runs_since_forged = 0
        page.route_web_socket("**/_stcore/stream", self._route)

    def _route(self, ws):
        server = ws.connect_to_server()

        def from_page(message):
            if isinstance(message, bytes) and self.forge is not None:
                message, forged = self._rewrite(message)
                if forged:
                    self.forged += 1
                    self.runs_since_forged = 0
            server.send(message)

        def from_server(message):
            if isinstance(message, bytes):
                forward = ForwardMsg()
                forward.ParseFromString(message)
                cut_short = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
                if forward.HasField("script_finished") and forward.script_finished != cut_short:
                    self.runs_since_forged += 1
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    def run_after(self, action, timeout: float = 30) -> None:
        """Do ``action`` and wait, with a deadline, until the server has completed a script run
        after the forged message it sent."""
        before = self.forged
        action()
        for _ in range(int(timeout * 10)):
            if self.forged > before and self.runs_since_forged > 0:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError("the server completed no script run after the forged message")

    def _rewrite(self, message: bytes) -> tuple[bytes, bool]:
        back = BackMsg()
        back.ParseFromString(message)
        forged = False
        for widget in back.rerun_script.widget_states.widgets:
            if widget.id.endswith(self.suffix):
                value = self.forge(json.loads(getattr(widget, self.field)))
                setattr(widget, self.field, value if isinstance(value, str) else json.dumps(value))
                forged = True
        return back.SerializeToString(), forged


def a_one(mode: str) -> bytes:
    image = Image.new("RGBA", (280, 280), "black")
    ImageDraw.Draw(image).line([(140, 40), (140, 240)], fill="white", width=20)
    return png_bytes(image.convert(mode))


def once_drawn(forge):
    """Forge the value sent after a stroke, not the empty one the pad sends after Clear."""
    return lambda state: forge(state) if state.get("drawing") else state


def with_data(data):
    return once_drawn(lambda state: {**state, "drawing": data})


FORGED_CANVAS = [
    ("a 9000 x 9000 PNG", with_data(data_url(huge_png(9000))), "9,000 x 9,000 pixels"),
    ("a 15000 x 15000 PNG", with_data(data_url(huge_png(15000))), "too many pixels"),
    ("bad base64", with_data("data:image/png;base64,iVBORw0KGgo%%%%not base64"), "could not be read"),
    ("a URL without ;base64,", with_data("data:image/png,iVBORw0KGgo"), "could not be read"),
    ("an EPS payload", with_data(data_url(EPS)), "not a picture this app can read"),
    ("a number", with_data(7), "could not be read"),
    ("a drawing that is a mapping", with_data({"data": data_url(a_one("RGBA"))}), "could not be read"),
]


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
    junk_beside = once_drawn(lambda state: {**state, "junk": {"junk": 1}})
    for forge, strokes in ((with_data(data_url(a_one("LA"))), [[(60, 60), (80, 80)]]), (junk_beside, ONE)):
        forger.forge = forge
        page.get_by_role("button", name="Clear the canvas").click()
        expect(prediction(page)).to_have_count(0)  # the last answer is gone: the next "1" is new
        draw(page, strokes)  # with the LA forgery, whatever is drawn, what arrives is a 1
        expect(prediction(page)).to_have_text("1")
    forger.forge = None
    page.get_by_role("button", name="Clear the canvas").click()
    expect(prediction(page)).to_have_count(0)
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
    for point in (
        {"curve_number": 1, "point_index": 999},
        {"curve_number": 1, "point_index": "abc"},
        {"curve_number": 1, "point_index": -1},
        {"curve_number": 1, "point_index": True},
        "a string",
    ):
        forger.forge = lambda value, point=point: {**value, "selection": {**value["selection"], "points": [point]}}
        forger.run_after(lambda: click_cell(page, 4, 2))
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(shown).to_have_text(opened_on)
    forger.forge = None
    click_cell(page, 1, 1)
    expect(page.get_by_text("test images of Trouser the model called Trouser", exact=False)).to_be_visible()
    page.close()


def test_an_upload_name_is_shown_as_text_never_as_markdown(browser, own_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    open_clothes(page, own_server)
    page.get_by_role("radio", name="Upload a picture").click()
    name = "![x](http://127.0.0.1:9/evil.png) [click](http://127.0.0.1:9/evil).png"
    shirt = Image.new("RGB", (240, 160), "white")
    ImageDraw.Draw(shirt).rectangle((60, 30, 180, 150), fill="black")
    upload = page.locator("input[type=file]")
    upload.set_input_files({"name": name, "mimeType": "image/png", "buffer": png_bytes(shirt)})
    expect(page.get_by_text("What the model sees (28x28)")).to_be_visible()
    upload.set_input_files({"name": name, "mimeType": "image/png", "buffer": b"not a picture " * 10})
    expect(page.get_by_text("not a picture this app can read")).to_be_visible()
    # Rendered as Markdown, the name would be a link and an image the browser fetches.
    assert page.locator("a[href*='evil'], img[src*='evil']").count() == 0
    page.close()
