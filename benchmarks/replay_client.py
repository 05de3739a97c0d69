"""One student on the Draw page without a browser: a websocket to Streamlit's /_stcore/stream
that sends what chromium sent (ws_capture's Capture) at a student's pace, and reads the server's
ForwardMsgs for the answer. Each replayed student is its own session with its own student code
(``?student=``, which the app keeps for the tab), so the app sees as many students as clients.

A student's cycle is load_test's: a digit drawn in one stroke, the answer read, Clear, the hand
back to the pad. The pad sends while the pen moves as well as when it lifts, and so does this
client, at the times chromium sent them. Latency runs from sending the stroke's last message to
receiving the metric that carries the answer to it.

Which run answers it: Streamlit reruns the pad's fragment for each message, a newer message
interrupting a run still under way, so the answer is the last run to finish whole before the
student presses Clear among those that began after the stroke's last message was sent. A run
that had begun before it, but whose start only reached us after, is followed by the one for the
whole stroke within the time a student reads, and that later run is the one taken."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
from PIL import Image
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

from benchmarks.load_test import READ_SECONDS, RETURN_SECONDS
from benchmarks.ws_capture import Capture, Stroke

WAIT_SECONDS = 30  # an answer later than this is an error the class would notice, as in load_test
MAX_MESSAGE = 16 * 1024 * 1024  # the app's server.maxMessageSize
WHOLE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


@dataclass
class Run:
    """One script run as the server reported it, stamped on arrival."""

    started: float
    answer: str | None = None  # the metric's value: the digit the page shows
    answered: float | None = None
    images: list[str] = field(default_factory=list)
    whole: bool = False  # it finished without being interrupted
    exception: bool = False


@dataclass
class Answered:
    """One stroke's outcome."""

    student: str  # the student's code
    sent: float  # when its last message was sent
    digit: str  # what was drawn
    answer: str | None  # what the page said
    latency: float  # from ``sent`` to the message carrying the answer


@dataclass
class Tally:
    """What the whole class saw, stamped so that a step of the ramp can take its own window."""

    strokes: list[Answered] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)
    images_gone: list[float] = field(default_factory=list)  # 404s for an image a later run replaced


class ReplayedStudent:
    def __init__(self, url: str, capture: Capture, tally: Tally):
        self.base = url
        self.code = secrets.token_hex(8)  # what the app makes for a new tab: this student is a new student
        self.tally = tally
        self.runs: list[Run] = []
        self.changed = asyncio.Event()
        self.own_ink = random.Random(self.code)
        self.opening = self._as_mine(capture.opening)
        self.strokes = [Stroke(s.digit, [(at, self._as_mine(m)) for at, m in s.sends]) for s in capture.strokes]
        self.clear = self._as_mine(capture.clear)
        self.leaving = False  # set: finish this cycle, then stop, leaving the session idle
        self.ws = None
        self.started_runs = 0  # script runs the server began for this student
        self.gets = 0  # images fetched
        self.address = ""  # the query string the app last gave this tab's address
        self.fetches: set[asyncio.Task] = set()

    def _as_mine(self, message: bytes) -> bytes:
        """The browser's message as this student's tab sends it: its own code in the address."""
        back = BackMsg.FromString(message)
        back.rerun_script.query_string = f"student={self.code}"
        back.rerun_script.context_info.url = f"{self.base}/?student={self.code}"
        for widget in back.rerun_script.widget_states.widgets:
            state = json.loads(widget.json_value) if widget.WhichOneof("value") == "json_value" else None
            if isinstance(state, dict) and str(state.get("drawing")).startswith("data:image/png;base64,"):
                state["drawing"] = self._own_hand(state["drawing"])
                widget.json_value = json.dumps(state, separators=(",", ":"))
        return back.SerializeToString()

    def _own_hand(self, data_url: str) -> str:
        """The drawing with one pixel of its ink dimmed, a different one for each student. Two
        real students never send the same picture; replayed ones would, and Streamlit names the
        28x28 image it shows by its content, so the server would keep one file for many students."""
        head, data = data_url.split(",", 1)
        pixels = np.array(Image.open(io.BytesIO(base64.b64decode(data))))
        ink = np.argwhere(pixels[..., 0] > 128)
        if len(ink):
            y, x = ink[self.own_ink.randrange(len(ink))]
            pixels[y, x, :3] = 160
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="PNG")
        return f"{head},{base64.b64encode(out.getvalue()).decode()}"

    async def open(self) -> None:
        """Load the Draw page, as a browser tab does on opening the app's address."""
        split = urlsplit(self.base)
        self.ws = await connect(
            f"ws://{split.netloc}/_stcore/stream",
            origin=self.base,
            subprotocols=["streamlit"],
            max_size=MAX_MESSAGE,
            open_timeout=WAIT_SECONDS,
        )
        self.reader = asyncio.create_task(self._read())
        sent = time.monotonic()
        await self.ws.send(self.opening)
        await self._whole_run_after(sent)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.reader.cancel()
            self.ws = None
        for fetch in list(self.fetches):
            fetch.cancel()

    async def attend(self, until: float, stagger: float = 0.0) -> None:
        """Draw, read, Clear, until ``until``; every failure is counted, none ends the lesson early.
        The first stroke comes at a random moment within ``stagger`` seconds: students who opened
        the page together still do not draw in step, as a class does not."""
        await asyncio.sleep(self.own_ink.uniform(0.0, stagger))
        n = 0
        while time.monotonic() < until and not self.leaving:
            stroke = self.strokes[n % len(self.strokes)]
            n += 1
            try:
                await asyncio.sleep(RETURN_SECONDS)
                await self._draw(stroke)
                await asyncio.sleep(READ_SECONDS)
                sent = time.monotonic()
                await self.ws.send(self.clear)
                blank = await self._whole_run_after(sent)
                if blank.answer is not None:
                    self.tally.errors.append((sent, "Clear left an answer on the page"))
            except Exception as exc:  # a timeout or a closed socket: the class would notice
                self.tally.errors.append((time.monotonic(), f"{type(exc).__name__}: {exc}"))
                await self._reload(until)

    async def _reload(self, until: float) -> None:
        """As a student reloads a page that stopped answering: the same code, a new session."""
        await self.close()
        while time.monotonic() < until:
            try:
                await self.open()
                return
            except Exception as exc:
                self.tally.errors.append((time.monotonic(), f"reload: {type(exc).__name__}: {exc}"))
                await asyncio.sleep(1)

    async def _draw(self, stroke) -> None:
        start = time.monotonic()
        for at, message in stroke.sends:
            await asyncio.sleep(max(0.0, start + at - time.monotonic()))
            sent = time.monotonic()
            await self.ws.send(message)
        await self._whole_run_after(sent)
        # The student reads for READ_SECONDS from here; a run that finishes meanwhile is a later answer.
        await asyncio.sleep(READ_SECONDS)
        answer = [run for run in self.runs if run.started >= sent and run.whole][-1]
        if answer.exception:
            raise RuntimeError("the page showed an exception")
        if answer.answer is None:
            self.tally.errors.append((sent, f"no prediction for a drawn {stroke.digit}"))
            return
        self.tally.strokes.append(Answered(self.code, sent, stroke.digit, answer.answer, answer.answered - sent))

    async def _whole_run_after(self, sent: float) -> Run:
        """The first run begun after ``sent`` to finish whole; an error if none does in time."""
        deadline = sent + WAIT_SECONDS
        while True:
            for run in self.runs:
                if run.started >= sent and run.whole:
                    if run.exception:
                        raise RuntimeError("the page showed an exception")
                    return run
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise TimeoutError(f"no whole run within {WAIT_SECONDS} s") from None

    async def _read(self) -> None:
        async for data in self.ws:
            now = time.monotonic()
            message = ForwardMsg.FromString(data)
            kind = message.WhichOneof("type")
            if kind == "new_session":
                self.runs = [*self.runs[-8:], Run(now)]
                self.started_runs += 1
            elif kind == "delta" and self.runs and message.delta.WhichOneof("type") == "new_element":
                self._read_element(message.delta.new_element, self.runs[-1], now)
            elif kind == "page_info_changed":
                self.address = message.page_info_changed.query_string
            elif kind == "script_finished" and self.runs:
                self.runs[-1].whole = message.script_finished in WHOLE
                for url in self.runs[-1].images if self.runs[-1].whole else ():
                    self._fetch(url)
                self.changed.set()

    @staticmethod
    def _read_element(element, run: Run, now: float) -> None:
        kind = element.WhichOneof("type")
        if kind == "metric" and run.answer is None:
            run.answer, run.answered = element.metric.body, now
        elif kind == "imgs":
            run.images += [image.url for image in element.imgs.imgs]
        elif kind == "exception":
            run.exception = True

    def _fetch(self, path: str) -> None:
        """GET an image the page shows, as the browser does once the run has drawn it."""
        self.gets += 1
        task = asyncio.create_task(self._get(path))
        self.fetches.add(task)
        task.add_done_callback(self.fetches.discard)

    async def _get(self, path: str) -> None:
        split = urlsplit(self.base)
        try:
            reader, writer = await asyncio.open_connection(split.hostname, split.port)
        except OSError as exc:
            self.tally.errors.append((time.monotonic(), f"GET {path}: {exc}"))
            return
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {split.netloc}\r\nConnection: close\r\n\r\n".encode())
            status = (await asyncio.wait_for(reader.readline(), WAIT_SECONDS)).split(b" ", 2)[1]
            await asyncio.wait_for(reader.read(), WAIT_SECONDS)
            if status != b"200":
                # Not an error the student sees: a later run of this session (the next message of
                # the stroke) put its own image in that place, and Streamlit forgets the old one,
                # so the page shows the new one. Counted, to say how often.
                self.tally.images_gone.append(time.monotonic())
        except (OSError, IndexError, TimeoutError) as exc:
            self.tally.errors.append((time.monotonic(), f"GET {path}: {type(exc).__name__}"))
        finally:
            writer.close()
