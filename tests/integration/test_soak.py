"""Soak: twenty training runs in a row through the job manager, as the server hosts it. Its
process must come back to its memory baseline, with no worker process or thread left over."""

import os
import subprocess
import threading
from dataclasses import replace

from mnistcore.history import History
from mnistcore.jobs import JobLimits, JobManager
from mnistcore.training import TrainConfig
from tests.integration.conftest import wait_for

RUNS = 20
TINY = TrainConfig(dataset="mnist", arch="logreg", epochs=1, train_size=200, batch_size=50)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


def leftover_workers() -> list[str]:
    """This process's worker children, and any zombie child (a worker nobody reaped)."""
    out = subprocess.run(["ps", "--ppid", str(os.getpid()), "-o", "pid=,stat=,args="], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if "mnistcore.worker" in line or line.split()[1].startswith("Z")]


def test_twenty_runs_in_a_row_leak_no_memory_processes_or_threads(tmp_path):
    manager = JobManager(History(tmp_path / "history.sqlite"), tmp_path / "models", JobLimits(max_running=1))
    try:

        def run_one(i):
            job = manager.submit("soak", f"run {i}", [replace(TINY, seed=i)])  # each trains: none is a replay
            wait_for(lambda: not manager.history.job(job).active)
            return manager.history.job(job)

        first = run_one(0)  # warm-up: the first run allocates what every later one reuses
        wait_for(lambda: not manager.running())
        baseline, threads = rss_mb(), threading.active_count()
        jobs = [run_one(i) for i in range(1, RUNS)]
        wait_for(lambda: not manager.running(), timeout=30)  # the last worker is exiting
        after = rss_mb()
        assert [j.status for j in [first, *jobs]] == ["completed"] * RUNS
        assert after <= baseline * 1.10, f"RSS {baseline:.0f} MB -> {after:.0f} MB"
        assert threading.active_count() == threads
        assert leftover_workers() == [] and manager.running() == []
        print(f"soak: {RUNS} runs, RSS {baseline:.0f} MB -> {after:.0f} MB, {threads} threads")
    finally:
        manager.close()
