"""Soak: twenty training runs in a row through the job manager, as the server hosts it. The one
warm worker trains them all; neither it nor the server grows past its memory baseline, and once
the manager closes no worker process or thread is left over."""

import os
import subprocess
import threading
from dataclasses import replace

from mnistcore.history import History
from mnistcore.jobs import JobLimits, JobManager
from mnistcore.training import TrainConfig
from tests.conftest import wait_for

RUNS = 20
TINY = TrainConfig(dataset="mnist", arch="logreg", epochs=1, train_size=200, batch_size=50)


def rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


def leftover_workers(not_these: set[str] = frozenset()) -> list[str]:
    """This process's worker children, and any zombie child (a worker nobody reaped), but for
    ``not_these`` (pids: children of earlier tests are theirs to account for)."""
    out = subprocess.run(["ps", "--ppid", str(os.getpid()), "-o", "pid=,stat=,args="], capture_output=True, text=True)
    return [
        line
        for line in out.stdout.splitlines()
        if ("mnistcore.worker" in line or line.split()[1].startswith("Z")) and line.split()[0] not in not_these
    ]


def test_twenty_runs_in_a_row_leak_no_memory_processes_or_threads(tmp_path):
    threads = threading.active_count()
    earlier = {line.split()[0] for line in leftover_workers()}
    manager = JobManager(History(tmp_path / "history.sqlite"), tmp_path / "models", JobLimits(max_running=1))
    try:

        def run_one(i):
            job = manager.submit("soak", f"run {i}", [replace(TINY, seed=i)])  # each trains: none is a replay
            wait_for(lambda: not manager.history.job(job).active)
            return manager.history.job(job)

        first = run_one(0)  # warm-up: the first run allocates what every later one reuses
        wait_for(lambda: not manager.running())
        (worker,) = manager.workers.pids()
        baseline, worker_baseline = rss_mb(), rss_mb(worker)
        runs = [run_one(i) for i in range(1, RUNS)]
        wait_for(lambda: not manager.running(), timeout=30)
        after, worker_after = rss_mb(), rss_mb(worker)
        assert [j.status for j in [first, *runs]] == ["completed"] * RUNS
        assert manager.workers.pids() == [worker], "one warm worker trains every run, never replaced"
        assert len(leftover_workers(earlier)) == 1
        assert after <= baseline * 1.10, f"server RSS {baseline:.0f} MB -> {after:.0f} MB"
        assert worker_after <= worker_baseline * 1.10, f"worker RSS {worker_baseline:.0f} MB -> {worker_after:.0f} MB"
        server_mb, worker_mb = f"{baseline:.0f} -> {after:.0f}", f"{worker_baseline:.0f} -> {worker_after:.0f}"
        print(f"soak: {RUNS} runs, RSS server {server_mb} MB, worker {worker_mb} MB")
    finally:
        manager.close()
    assert leftover_workers(earlier) == [] and manager.running() == []
    assert threading.active_count() == threads
