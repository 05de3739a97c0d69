"""A class presses Train at once: thirty students submit within ten seconds to the job manager as
the app runs it (the server's own workers, or a Ray cluster), half of them the Quick overfit
preset as it is, half with settings of their own. Prints the time until the last run finishes
and each student's wait from submit to finished run (p50, p95), for:

- before: the code before issue 16 (a git worktree of BEFORE), one cold worker process per run,
  every run trained;
- after: this tree (warm workers, the lockstep fast path, identical runs trained once);
- ray: this tree on a local Ray cluster of two one-core workers, standing in for two machines.

Each in a process of its own, one after the other, in one run of this script.

    python -m benchmarks.class_burst [--students 30] [--only after] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "c4b88eb"  # the last commit before issue 16
SPREAD_SECONDS = 10.0
DEADLINE_SECONDS = 1800.0


def submissions(students: int) -> list[tuple[float, str, list]]:
    """(seconds after the first, student, configs): every other student the preset as it is."""
    from mnistcore.presets import PRESETS

    preset = PRESETS["Quick overfit"]
    picks = random.Random(0)
    out = []
    for i in range(students):
        config = preset.config
        dropout = preset.dropout
        if i % 2:  # a student who changed something
            config = replace(config, seed=i, lr=picks.choice([0.001, 0.003, 0.01]))
            dropout = picks.choice([0.2, 0.3, 0.5])
        out.append((SPREAD_SECONDS * i / students, f"student{i:02d}", [config, replace(config, dropout=dropout)]))
    return out


def burst(students: int, ray_address: str | None) -> dict:
    """The burst in this process, with whichever mnistcore is on the path."""
    from mnistcore.history import History
    from mnistcore.jobs import JobLimits, JobManager

    with tempfile.TemporaryDirectory() as tmp:
        limits = JobLimits(threads_per_job=1) if ray_address else JobLimits()
        extra = {"ray_address": ray_address} if ray_address else {}
        manager = JobManager(History(Path(tmp) / "history.sqlite"), Path(tmp) / "models", limits, **extra)
        try:
            time.sleep(5)  # the server is up before the class arrives: its workers are warm
            jobs = {}
            started = time.monotonic()
            for at, student, configs in submissions(students):
                time.sleep(max(0.0, started + at - time.monotonic()))
                jobs[manager.submit(student, "burst", configs)] = time.monotonic()
            waits, ended = {}, {}
            while len(ended) < len(jobs) and time.monotonic() - started < DEADLINE_SECONDS:
                for job_id, submitted in jobs.items():
                    job = manager.history.job(job_id)
                    if job_id not in ended and not job.active:
                        ended[job_id] = job.status
                        waits[job_id] = time.monotonic() - submitted
                time.sleep(0.2)
            total = time.monotonic() - started
        finally:
            manager.close()
    return {
        "students": students,
        "completed": sum(status == "completed" for status in ended.values()),
        "last_finished_s": round(total, 1),
        "wait_p50_s": round(statistics.median(waits.values()), 1),
        "wait_p95_s": round(sorted(waits.values())[max(0, round(0.95 * len(waits)) - 1)], 1),
    }


def in_process_of_its_own(tree: Path, students: int, ray_address: str | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "MNISTCORE_DATA": str(ROOT / "data")}
    command = [sys.executable, str(Path(__file__).resolve()), "--here", "--students", str(students)]
    if ray_address:
        command += ["--ray-address", ray_address]
    out = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, timeout=DEADLINE_SECONDS + 120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def before(students: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), BEFORE], check=True)
        try:
            return in_process_of_its_own(tree, students)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)


def on_ray(students: int) -> dict:
    ray = str(Path(sys.executable).with_name("ray"))
    start = [ray, "start", "--head", "--port=6390", "--num-cpus=2", "--include-dashboard=false"]
    subprocess.run([*start, "--disable-usage-stats"], check=True, capture_output=True)
    try:
        return in_process_of_its_own(ROOT, students, "127.0.0.1:6390")
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30, choices=range(2, 61), metavar="2..60")
    parser.add_argument("--only", choices=("before", "after", "ray"), action="append")
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--here", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ray-address", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.here:
        print(json.dumps(burst(args.students, args.ray_address)))
        return

    from mnistcore.data import prepare

    prepare("mnist")
    ways = {"before": before, "after": lambda n: in_process_of_its_own(ROOT, n), "ray": on_ray}
    print(f"{args.students} students submit within {SPREAD_SECONDS:g} s, half the Quick overfit preset as it is;")
    print(f"{os.cpu_count()} cores; each way in a process of its own, one after the other")
    print(f"{'':<8}{'completed':>10}{'last done':>11}{'wait p50':>10}{'wait p95':>10}")
    rows = {}
    for name in args.only or ways:
        row = rows[name] = ways[name](args.students)
        print(
            f"{name:<8}{row['completed']:>7}/{row['students']:<2}{row['last_finished_s']:>9.1f} s"
            f"{row['wait_p50_s']:>8.1f} s{row['wait_p95_s']:>8.1f} s",
            flush=True,
        )
    if "before" in rows and "after" in rows:
        speedup = rows["before"]["last_finished_s"] / rows["after"]["last_finished_s"]
        print(f"last run done, before / after: {speedup:.1f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
