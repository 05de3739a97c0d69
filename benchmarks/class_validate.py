"""Does a replayed student cost the server what a student in a browser costs? One server, no
training; first ``--students`` headless chromium students (load_test's) draw for ``--seconds``,
then as many replayed students (replay_client's) do. For each: strokes, errors, messages the
page sent and script runs the server began per stroke (draw and Clear), the server's
CPU-seconds per stroke and per run, stroke-to-answer p50/p95. The pad sends every 800 ms while
the pen moves, so a slower drag sends more: the work per run is what must agree. The browsers'
latency is load_test's (pointerup to the page idle with the answer), the replayed one's from the
stroke's last message to the message carrying the answer.

    python -m benchmarks.class_validate [--students 3] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import async_playwright, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.class_load import percentile
from benchmarks.load_test import BLANK, STAMP_PREDICTIONS, cpu_by_process, cpu_used, student
from benchmarks.replay_client import ReplayedStudent, Tally
from benchmarks.ws_capture import capture
from tests.e2e.browser import CHROMIUM_ARGS, SERVERS, chromium, serve_app


def count_frames(ws, sent: list, runs: list) -> None:
    """Stamp each message the page sends, and each script run the server starts for it."""
    ws.on("framesent", lambda _: sent.append(time.monotonic()))

    def received(payload) -> None:
        if isinstance(payload, bytes) and ForwardMsg.FromString(payload).WhichOneof("type") == "new_session":
            runs.append(time.monotonic())

    ws.on("framereceived", received)


async def browsers(url: str, students: int, seconds: float, server_pid: int) -> dict:
    first, latencies, errors, wrong, sent, runs, requests = [], [], [], [], [], [], []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_ARGS)
        pages = []
        for _ in range(students):
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.add_init_script(STAMP_PREDICTIONS)
            page = await context.new_page()
            page.on("websocket", lambda ws: count_frames(ws, sent, runs))
            page.on("request", lambda request: requests.append((time.monotonic(), request.url)))
            await page.goto(url)
            await expect(page.get_by_text(BLANK)).to_be_visible(timeout=60_000)
            pages.append(page)
        start, before = time.monotonic(), cpu_by_process(server_pid)
        until = start + seconds
        await asyncio.gather(*(student(page, url, until, first, latencies, errors, wrong) for page in pages))
        cpu = cpu_used(before, cpu_by_process(server_pid))
        await browser.close()
    strokes = len(first) + len(latencies)
    return dict(
        strokes=strokes,
        errors=len(errors),
        wrong=len(wrong),
        messages=sum(start <= at for at in sent),
        runs=sum(start <= at for at in runs),
        requests=Counter(urlsplit(url).path.split("/")[1] for at, url in requests if at >= start),
        latencies=sorted(first + latencies),
        server_cpu=cpu["server"],
    )


async def replayed(url: str, captured, students: int, seconds: float, server_pid: int) -> dict:
    tally = Tally()
    class_ = [ReplayedStudent(url, captured, tally) for _ in range(students)]
    await asyncio.gather(*(s.open() for s in class_))
    runs_before = sum(s.started_runs for s in class_)
    gets_before = sum(s.gets for s in class_)
    start, before = time.monotonic(), cpu_by_process(server_pid)
    await asyncio.gather(*(s.attend(start + seconds) for s in class_))
    cpu = cpu_used(before, cpu_by_process(server_pid))
    await asyncio.gather(*(s.close() for s in class_))
    per_cycle = sum(len(s.sends) for s in captured.strokes) / len(captured.strokes) + 1  # and Clear
    return dict(
        strokes=len(tally.strokes),
        errors=len(tally.errors),
        wrong=sum(s.answer != s.digit for s in tally.strokes),
        messages=round(per_cycle * len(tally.strokes)),
        runs=sum(s.started_runs for s in class_) - runs_before,
        gets=sum(s.gets for s in class_) - gets_before,
        latencies=sorted(s.latency for s in tally.strokes),
        server_cpu=cpu["server"],
    )


def report(name: str, r: dict) -> str:
    n = max(1, r["strokes"])
    return (
        f"{name:9s} {r['strokes']:7d} {r['errors']:6d} {r['wrong']:5d} {r['messages'] / n:16.1f} "
        f"{r['runs'] / n:12.1f} {r['server_cpu'] / n:19.3f} {r['server_cpu'] / max(1, r['runs']):16.4f} "
        f"{percentile(r['latencies'], 0.5):6.2f}s {percentile(r['latencies'], 0.95):6.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, serve_app(Path(tmp)) as url:
        pid = SERVERS[url].pid
        captured = asyncio.run(capture(url))
        real = asyncio.run(browsers(url, args.students, args.seconds, pid))
        replay = asyncio.run(replayed(url, captured, args.students, args.seconds, pid))
    print(f"{args.students} students, {args.seconds:.0f} s each way, no training, loopback")
    print(
        "students  strokes errors wrong messages/stroke runs/stroke server CPU-s/stroke server CPU-s/run    p50     p95"
    )
    print(report("browsers", real))
    print(report("replayed", replay))
    print("the browsers' HTTP requests while they drew, by first path segment:", dict(real["requests"]))
    print(f"the replayed students' image GETs: {replay['gets']}")


if __name__ == "__main__":
    main()
