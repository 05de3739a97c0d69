"""Classroom load test, on loopback: K headless-browser students draw digits on the Draw page
and read the predictions for two minutes while two runs train and four more wait in the queue.

Prints errors, p50/p95 time from the end of a stroke to the updated prediction (all, each
student's first, the rest), each queued run's wait and whether it completed, where the machine's
CPU went, and the server's memory (RSS). Targets: 0 errors, p95 <= 1.5 s, every queued run
completes.

    python -m benchmarks.load_test [--students 10] [--seconds 120]
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.async_api import async_playwright, expect

from mnistcore.history import History
from mnistcore.presets import PRESETS
from mnistcore.settings import ROOT
from tests.e2e.browser import CHROMIUM_ARGS, ONE, PAD, SERVERS, SEVEN, ZERO, rss_mb, serve_app

STROKES = {"1": ONE, "7": SEVEN, "0": ZERO}
ARTIFACTS = ROOT / "tests" / "artifacts"
BLANK = "Draw a digit to see what the network thinks it is."  # the page's answer to an empty canvas
# A student's pace: a digit drawn in one stroke, the answer read, Clear, the hand back to the
# canvas. Without pauses ten clients would be a stress test, not a class.
STROKE_SECONDS = 0.6
READ_SECONDS = 1.5
RETURN_SECONDS = 0.3

# Both ends of the latency are stamped inside the page, on its clock: the end of the stroke
# (pointerup) and the moment the page is idle again with an answer after the rerun the pen's
# lifting caused. The pad also sends while the pen moves, so an answer to half a stroke may
# already be on the page at pointerup: it does not count. Playwright's own waits poll with
# growing intervals and would add up to a second.
STAMP_PREDICTIONS = """
const state = () => document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state');
window.__strokeEnd = 0; window.__shown = 0; let busy = false;
document.addEventListener('pointerdown', () => { window.__strokeEnd = 0; window.__shown = 0; }, true);
document.addEventListener('pointerup', () => {
  const end = window.__strokeEnd = performance.now();
  busy = state() !== 'notRunning';
  // The pen's last send may equal the one before: no rerun comes, the answer on the page is final.
  setTimeout(() => { if (window.__strokeEnd === end && !busy && !window.__shown) window.__shown = end; }, 1000);
}, true);
new MutationObserver(() => {
  if (!window.__strokeEnd || window.__shown) return;
  if (state() !== 'notRunning') busy = true;
  else if (busy && document.querySelector('[data-testid="stMetricValue"]')) window.__shown = performance.now();
}).observe(document, {childList: true, subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
"""


def cpu_by_process(server_pid: int) -> dict[int, tuple[str, float]]:
    """Each process's role and CPU time so far: the server, its training workers (those that
    ended are in the server's children's time), and the simulated class, that is the browsers and
    the Playwright driver that moves their mice."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, own, command = {}, {}, {}
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline") as f:
                command[pid] = f.read()
        except OSError:  # it ended while we looked
            continue
        parent[pid], own[pid] = int(stat[1]), (int(stat[11]) + int(stat[12])) / tick
        if pid == server_pid:  # workers that ended: their time went to the server's children's
            ended_workers = (int(stat[13]) + int(stat[14])) / tick

    def program(pid):
        return os.path.basename(command[pid].replace("\0", " ").split(" ")[0])  # chromium joins its own

    def descends(pid, ancestor):
        while pid > 1 and pid != ancestor:
            pid = parent.get(pid, 0)
        return pid == ancestor

    with open("/proc/stat") as f:  # the whole machine: user, nice, system, idle, iowait, ...
        ticks = [int(t) for t in f.readline().split()[1:]]
    found = {0: ("machine", (sum(ticks) - ticks[3] - ticks[4]) / tick), -1: ("training", ended_workers)}
    for pid in parent:
        if pid == server_pid:
            found[pid] = "server", own[pid]
        elif descends(pid, server_pid):
            found[pid] = "training", own[pid]
        elif program(pid) == "chromium":  # its renderers are not its descendants (zygote)
            found[pid] = "browsers", own[pid]
        elif program(pid) == "node" and descends(pid, os.getpid()):
            found[pid] = "playwright", own[pid]
    return found


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    used = dict.fromkeys(("machine", "server", "training", "browsers", "playwright"), 0.0)
    for pid, (role, seconds) in after.items():
        used[role] += seconds - before.get(pid, (role, 0.0))[1]
    used["other"] = used.pop("machine") - sum(used.values())  # the kernel and everything else
    return used


def along(stroke, n: int) -> list[tuple[float, float]]:
    """``n + 1`` points evenly spaced along the polyline, as a mouse at 60 Hz reports a drag."""
    xy = np.array(stroke, dtype=float)
    travelled = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
    at = np.linspace(0.0, travelled[-1], n + 1)
    return list(zip(np.interp(at, travelled, xy[:, 0]), np.interp(at, travelled, xy[:, 1]), strict=True))


async def draw(page, strokes) -> None:
    """Each stroke at a hand's pace: STROKE_SECONDS from pen down to pen up."""
    box = await page.locator(PAD).bounding_box()
    for stroke in strokes:
        points = along(stroke, int(STROKE_SECONDS * 60))
        await page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
        await page.mouse.down()
        for x, y in points[1:]:
            await page.mouse.move(box["x"] + x, box["y"] + y)
            await asyncio.sleep(STROKE_SECONDS / len(points))
        await page.mouse.up()


async def open_draw_page(browser, url: str, errors: list):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(STAMP_PREDICTIONS)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    await page.goto(url)
    await expect(page.get_by_text(BLANK)).to_be_visible(timeout=60_000)
    return page


async def student(page, url: str, until: float, first: list, latencies: list, errors: list, wrong: list) -> None:
    try:
        digits = list(STROKES)
        n = 0
        while time.monotonic() < until:
            digit = digits[n % len(digits)]
            n += 1
            try:
                await expect(page.get_by_text(BLANK)).to_be_visible(timeout=30_000)
                await asyncio.sleep(RETURN_SECONDS)
                await draw(page, STROKES[digit])
                await page.wait_for_function("window.__shown > 0", polling=50, timeout=30_000)
                latency = await page.evaluate("(window.__shown - window.__strokeEnd) / 1000")
                (latencies if n > 1 else first).append(latency)
                metric = page.get_by_test_id("stMetricValue").first
                if (await metric.inner_text()).strip() != digit:
                    wrong.append(digit)
                await asyncio.sleep(READ_SECONDS)
                await page.get_by_role("button", name="Clear the canvas").click()
            except Exception as exc:  # a timeout is an error the class would notice
                errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
                if len(errors) == 1:
                    ARTIFACTS.mkdir(exist_ok=True)
                    await page.screenshot(path=ARTIFACTS / "load-test-first-error.png")
                await page.goto(url)
        exceptions = await page.get_by_test_id("stException").count()
        if exceptions:
            errors.append(f"{exceptions} exception(s) shown in the page")
    finally:
        await page.context.close()


async def load(url: str, students: int, seconds: float, runs: int, server_pid: int, history: History) -> dict:
    first, latencies, errors, wrong, rss, cpu = [], [], [], [], [], {}

    async def watch_server(until):
        """RSS every second; CPU over the whole window, read before the students close their
        pages (a closed renderer takes its CPU time with it)."""
        before = cpu_by_process(server_pid)
        while time.monotonic() < until:
            rss.append(rss_mb(server_pid))
            await asyncio.sleep(min(1, max(0, until - time.monotonic())))
        cpu.update(cpu_used(before, cpu_by_process(server_pid)))

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        # The class opens the page first; the clock starts when everyone has it.
        start = time.monotonic()
        pages = await asyncio.gather(*(open_draw_page(browser, url, errors) for _ in range(students)))
        opened = time.monotonic() - start
        preset = PRESETS["Quick overfit"]
        jobs = [history.add_job(f"load-{i}", "load test run", [preset.config]) for i in range(runs)]
        until = time.monotonic() + seconds
        await asyncio.gather(
            watch_server(until), *(student(page, url, until, first, latencies, errors, wrong) for page in pages)
        )
        await browser.close()
    deadline = time.monotonic() + 600
    while any(history.job(j).active for j in jobs) and time.monotonic() < deadline:
        await asyncio.sleep(1)
    return dict(
        first=first,
        latencies=latencies,
        errors=errors,
        wrong=wrong,
        rss=rss,
        opened=opened,
        cpu=cpu,
        jobs=[history.job(j) for j in jobs],
    )


def spread(seconds: list[float]) -> str:
    if not seconds:
        return "none"
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--runs", type=int, default=6, help="training runs queued (2 train at a time)")
    args = parser.parse_args()

    os.environ["MNISTCORE_MAX_RUNS"] = "2"  # two train, the rest wait
    with tempfile.TemporaryDirectory() as tmp, serve_app(Path(tmp)) as url:
        server = SERVERS[url]
        history = History(Path(tmp) / "runs" / "history.sqlite")
        baseline = rss_mb(server.pid)
        r = asyncio.run(load(url, args.students, args.seconds, args.runs, server.pid, history))
        after = rss_mb(server.pid)

    lat = sorted(r["first"] + r["latencies"])
    print(
        f"{args.students} students drawing for {args.seconds:.0f} s, {args.runs} Quick-overfit runs "
        f"(2 at a time, 1 thread each), loopback, {os.cpu_count()} cores"
    )
    print(f"all {args.students} students had the Draw page after {r['opened']:.1f} s")
    print(f"errors: {len(r['errors'])}" + "".join(f"\n  {e}" for e in r["errors"][:10]))
    print(f"strokes read: {len(lat)}; stroke end -> prediction: {spread(lat)}  (target p95 <= 1.5 s)")
    print(f"  each student's first: {spread(r['first'])}; the rest: {spread(r['latencies'])}")
    print(f"digits read as another digit: {len(r['wrong'])} of {len(lat)}")
    for job in r["jobs"]:
        wait = (job.started or float("nan")) - job.created
        took = (job.finished or float("nan")) - (job.started or float("nan"))
        print(f"  run {job.id}: waited {wait:5.1f} s in the queue, trained {took:5.1f} s, {job.status}")
    done = sum(j.status == "completed" for j in r["jobs"])
    print(f"runs completed: {done} of {args.runs}  (target: all)")
    cores = os.cpu_count() * args.seconds
    print(
        f"CPU seconds while the class drew ({cores:.0f} on {os.cpu_count()} cores): "
        + ", ".join(f"{role} {used:.0f}" for role, used in r["cpu"].items())
    )
    print(
        f"server RSS: {baseline:.0f} MB at start, max {max(r['rss'], default=0):.0f} MB under load, "
        f"{after:.0f} MB after"
    )


if __name__ == "__main__":
    main()
