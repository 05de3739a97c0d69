"""How many students drawing at once one server carries: replayed students (no browsers, see
replay_client) on the Draw page, in steps of a growing class, while two runs train.

Serves the app on loopback, captures once what chromium sends for a page load, a stroke and
Clear (ws_capture), then for each class size opens the new students' pages and, once all have
them, times a window of ``--seconds``. Per step: students, strokes answered, errors, p50/p95/p99
from a stroke's last message to the answer, the server's CPU-seconds per stroke (draw and Clear),
its RSS, the CPU the load generator itself took, runs training, and the image GETs that found
the image already replaced by a later run of that student (not an error: the page shows the
newer one). Stops after the step whose p95 passes
``--stop-above``. Prints the largest class with 0 errors and p95 <= 0.5 s, and with p95 <= 1.5 s.

    python -m benchmarks.class_load [--steps 10,20,40,80,160] [--seconds 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.load_test import cpu_by_process, cpu_used
from benchmarks.replay_client import READ_SECONDS, WAIT_SECONDS, ReplayedStudent, Tally
from benchmarks.ws_capture import capture
from mnistcore.history import History
from mnistcore.presets import PRESETS
from tests.e2e.browser import SERVERS, rss_mb, serve_app

# A student's cycle is about this long (the hand back 0.3 s, a stroke 0.6-1.6 s, the answer read
# 1.5 s, Clear): each new student's first stroke comes at a random moment within it.
CYCLE_SECONDS = 5.0
TARGETS = (0.5, 1.5)  # seconds, p95 from stroke to answer: snappy, and still a working lesson
SETTLE_SECONDS = READ_SECONDS + 1.0  # a window's last strokes are answered after it ends
TRAINING_END_SECONDS = 300  # two Quick-overfit runs and the one waiting take about two minutes


def percentile(ordered: list[float], q: float) -> float:
    """Nearest rank, as load_test's spread; NaN for none."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def keep_training(history: History, runs: int, jobs: list[int]) -> None:
    """``runs`` Quick-overfit runs training all the time, as load_test queues them (straight into
    the history, so the server's scheduler trains each: none is a replay of another), with one
    more waiting so that a finished run is replaced at once. ``jobs`` gets each job's id."""
    config = PRESETS["Quick overfit"].config
    while True:
        active = [j for j in jobs if history.job(j).active]
        for _ in range(runs + 1 - len(active)):
            jobs.append(history.add_job(f"load-{len(jobs)}", "class load run", [config]))
        await asyncio.sleep(1)


def training_now(history: History) -> int:
    return sum(job.status == "running" for job in history.jobs())


async def step(url, capture_, tally, students, size, seconds, server_pid, history, stagger) -> dict:
    """Bring the class to ``size`` students, then measure ``seconds`` of it drawing."""
    joining = [ReplayedStudent(url, capture_, tally) for _ in range(size - len(students))]
    opened = await asyncio.gather(*(s.open() for s in joining), return_exceptions=True)
    failed = [outcome for outcome in opened if isinstance(outcome, BaseException)]
    for student, outcome in zip(joining, opened, strict=True):
        if not isinstance(outcome, BaseException):
            students[student] = asyncio.create_task(student.attend(float("inf"), stagger))
    await asyncio.sleep(stagger)  # the window begins once every new student is drawing
    start, cpu_before, own_before = time.monotonic(), cpu_by_process(server_pid), time.process_time()
    for outcome in failed:  # a student of this step who never got the page
        tally.errors.append((start, f"opening the page: {type(outcome).__name__}: {outcome}"))
    rss = []
    while time.monotonic() < start + seconds:
        rss.append(rss_mb(server_pid))
        await asyncio.sleep(1)
    end = time.monotonic()
    cpu = cpu_used(cpu_before, cpu_by_process(server_pid))
    generator = time.process_time() - own_before
    running = training_now(history)
    await asyncio.sleep(SETTLE_SECONDS)
    strokes = [s for s in tally.strokes if start <= s.sent < end]
    latencies = sorted(s.latency for s in strokes)
    errors = [text for at, text in tally.errors if start <= at < end]
    return dict(
        students=len(students),
        strokes=len(strokes),
        errors=len(errors),
        first_errors=errors[:3],
        images_gone=sum(start <= at < end for at in tally.images_gone),
        wrong=sum(s.answer != s.digit for s in strokes),
        p50=percentile(latencies, 0.50),
        p95=percentile(latencies, 0.95),
        p99=percentile(latencies, 0.99),
        server_cpu_per_stroke=cpu["server"] / max(1, len(strokes)),
        server_cpu=cpu["server"],
        training_cpu=cpu["training"],
        generator_cpu=generator,
        machine_cpu=sum(cpu.values()),
        seconds=end - start,
        training_runs=running,
        server_rss_mb=max(rss, default=float("nan")),
    )


async def ramp(url, capture_, sizes, seconds, server_pid, history, runs, stop_above, stagger) -> list[dict]:
    tally, students, rows, jobs = Tally(), {}, [], []
    training = asyncio.create_task(keep_training(history, runs, jobs) if runs else asyncio.sleep(0))
    try:
        for size in sizes:
            row = await step(url, capture_, tally, students, size, seconds, server_pid, history, stagger)
            rows.append(row)
            print(format_row(row), flush=True)
            if not row["p95"] <= stop_above:
                break
    finally:
        training.cancel()
        await leave(students)
        await let_training_end(history, jobs)
    return rows


async def let_training_end(history: History, jobs: list[int]) -> None:
    """Wait for the runs queued here to end, as load_test does: a server stopped under a
    training worker leaves that worker writing to a closed pipe (a BrokenPipeError in the log)."""
    deadline = time.monotonic() + TRAINING_END_SECONDS
    while any(history.job(j).active for j in jobs) and time.monotonic() < deadline:
        await asyncio.sleep(1)


async def leave(students: dict) -> None:
    """Each student finishes the cycle under way, then closes the page. Streamlit 1.67 logs a
    traceback for a websocket closed while it is sending (its reader takes the close for a text
    frame), so none is closed in the middle of a run."""
    for student in students:
        student.leaving = True
    _, late = await asyncio.wait(students.values(), timeout=2 * WAIT_SECONDS)
    for task in late:
        task.cancel()
    await asyncio.gather(*(s.close() for s in students), return_exceptions=True)


HEADER = (
    "students  strokes  errors  wrong    p50     p95     p99   server CPU-s/stroke  server RSS  "
    "generator CPU-s  training runs  images replaced"
)


def format_row(row: dict) -> str:
    return (
        f"{row['students']:8d} {row['strokes']:8d} {row['errors']:7d} {row['wrong']:6d} "
        f"{row['p50']:6.2f}s {row['p95']:6.2f}s {row['p99']:6.2f}s {row['server_cpu_per_stroke']:15.3f}      "
        f"{row['server_rss_mb']:6.0f} MB {row['generator_cpu']:12.1f}  {row['training_runs']:10d}"
        f"  {row['images_gone']:12d}" + "".join(f"\n      error: {e}" for e in row["first_errors"])
    )


def largest_class(rows: list[dict], p95: float) -> int:
    """The largest class that drew with no error and answers within ``p95``; 0 for none."""
    return max((r["students"] for r in rows if r["errors"] == 0 and r["p95"] <= p95), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="10,20,40,80,160", help="class sizes, in order")
    parser.add_argument("--seconds", type=float, default=60, help="each step's measured window")
    parser.add_argument("--runs", type=int, default=2, help="runs training all along (0: none)")
    parser.add_argument("--stop-above", type=float, default=TARGETS[-1], help="p95 (s) that ends the ramp")
    parser.add_argument("--json", type=Path, help="write the summary here as one JSON object")
    parser.add_argument("--py-spy", type=Path, help="profile the server with py-spy into this file (flamegraph input)")
    parser.add_argument(
        "--in-step", action="store_true", help="every student of a step starts at once: a class told 'now, draw!'"
    )
    args = parser.parse_args()
    stagger = 0.0 if args.in_step else CYCLE_SECONDS
    sizes = [int(n) for n in args.steps.split(",")]

    os.environ["MNISTCORE_MAX_RUNS"] = str(max(1, args.runs))
    with tempfile.TemporaryDirectory() as tmp, serve_app(Path(tmp)) as url:
        server = SERVERS[url]
        history = History(Path(tmp) / "runs" / "history.sqlite")
        captured = asyncio.run(capture(url))
        print(
            f"Replayed students on the Draw page, {args.seconds:.0f} s a step, {args.runs} Quick-overfit runs "
            f"training, loopback, {os.cpu_count()} cores ({platform.processor() or platform.machine()}); "
            + ("every student of a step starts at once" if args.in_step else f"students start within {stagger:.0f} s")
        )
        print(HEADER)
        profiler = py_spy(server.pid, args.py_spy) if args.py_spy else None
        try:
            rows = asyncio.run(
                ramp(url, captured, sizes, args.seconds, server.pid, history, args.runs, args.stop_above, stagger)
            )
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its file as it stops
                profiler.wait(timeout=60)
        summarize(rows, args)


def py_spy(pid: int, out: Path) -> subprocess.Popen:
    """py-spy sampling the server, every thread, 50 times a second, until it is stopped."""
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--rate", "50"]
    return subprocess.Popen([*command, "--format", "raw", "--output", str(out), "--nonblocking"])


def summarize(rows: list[dict], args) -> None:
    carried = {p95: largest_class(rows, p95) for p95 in TARGETS}
    for p95, size in carried.items():
        print(f"largest class with 0 errors and p95 <= {p95} s: {size} students")
    if args.json:
        summary = {
            "cores": os.cpu_count(),
            "seconds_per_step": args.seconds,
            "training_runs": args.runs,
            "in_step": args.in_step,
            "largest_class_p95_0_5s": carried[0.5],
            "largest_class_p95_1_5s": carried[1.5],
            "rows": rows,
        }
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
