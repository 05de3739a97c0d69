"""Training jobs for a shared server: a queue, a cap on how many train at once, and one worker
process per job (``python -m mnistcore.worker``).

A job is one run, or several runs trained in lockstep (with and without dropout). Each job
trains in its own process with its own share of the cores: torch's thread pool is
process-wide, so runs in threads would fight over it (two 2-thread runs on 2 cores train
many times slower than one after the other), and a crashing or killed worker takes nothing
else down. Workers write their progress to the run history (SQLite); the pages only read it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .catalog import ROOT
from .errors import MnistcoreError
from .history import History
from .training import TrainConfig

POLL_SECONDS = 0.2


def default_max_running() -> int:
    """MNISTCORE_MAX_RUNS, or half the cores: jobs of two threads each train fastest here."""
    value = os.environ.get("MNISTCORE_MAX_RUNS", "")
    return max(1, int(value)) if value.isdigit() else max(1, (os.cpu_count() or 1) // 2)


@dataclass(frozen=True)
class JobLimits:
    max_running: int = field(default_factory=default_max_running)
    max_queued_per_owner: int = 3
    max_queued: int = 60

    @property
    def threads_per_job(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.max_running)


class QueueFull(MnistcoreError):
    pass


class JobManager:
    """Owns the worker processes of one server. Thread-safe: every session calls it."""

    def __init__(self, history: History, models_dir: Path, limits: JobLimits | None = None):
        self.history = history
        self.models_dir = Path(models_dir)
        self.limits = limits or JobLimits()
        self._workers: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        history.mark_interrupted()  # whatever was training when the last server died
        self._thread = threading.Thread(target=self._loop, name="mnistcore-jobs", daemon=True)
        self._thread.start()

    def submit(self, owner: str, title: str, configs: Sequence[TrainConfig]) -> int:
        """Queue a job; QueueFull when this student or the whole class has too many waiting."""
        configs = list(configs)
        if not configs:
            raise ValueError("nothing to train")
        waiting = self.history.jobs(owner=owner, status=("queued",))
        if len(waiting) >= self.limits.max_queued_per_owner:
            raise QueueFull(f"You already have {len(waiting)} runs waiting; stop one or wait for it to start.")
        if len(self.history.jobs(status=("queued",))) >= self.limits.max_queued:
            raise QueueFull("The class queue is full; try again when a run has finished.")
        job_id = self.history.add_job(owner, title, configs)
        self._wake.set()
        return job_id

    def stop(self, job_id: int) -> None:
        """A queued job is cancelled; a running one stops at its next batch and keeps its best
        epoch so far."""
        with self._lock:
            worker = self._workers.get(job_id)
            if worker is not None:
                worker.send_signal(signal.SIGTERM)  # the worker stops at its next batch
                return
            job = self.history.job(job_id)
            if job is not None and job.status == "queued":
                self.history.finish_job(job_id, "cancelled", "Cancelled before it started.")

    def running(self) -> list[int]:
        with self._lock:
            return list(self._workers)

    def close(self, timeout: float = 10) -> None:
        self._closed = True
        self._wake.set()
        with self._lock:
            workers = list(self._workers.values())
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
        self._thread.join(timeout)
        self.tick()

    def tick(self) -> None:
        """Reap finished workers, then start queued jobs while there is room."""
        with self._lock:
            for job_id, process in list(self._workers.items()):
                if process.poll() is None:
                    continue
                del self._workers[job_id]
                job = self.history.job(job_id)
                if job is None or not job.active:
                    continue
                if process.returncode == -signal.SIGTERM:  # stopped while it was still starting up
                    self.history.finish_job(job_id, "stopped", "Stopped by the user before training began.")
                else:  # the worker died without a word
                    self.history.finish_job(job_id, "failed", f"The training worker stopped unexpectedly "
                                                              f"(exit code {process.returncode}).")
            if self._closed:
                return
            queued = self.history.jobs(status=("queued",))
            for job in queued[:max(0, self.limits.max_running - len(self._workers))]:
                self.history.start_job(job.id)
                # A fresh interpreter, not multiprocessing: Streamlit swaps in its own __main__
                # while a script runs, and a spawned child would run the app's script again.
                self._workers[job.id] = subprocess.Popen(
                    [sys.executable, "-m", "mnistcore.worker", str(self.history.path), str(job.id),
                     str(self.models_dir), str(self.limits.threads_per_job)],
                    cwd=ROOT, stdin=subprocess.DEVNULL)

    def _loop(self) -> None:
        while not self._closed:
            try:
                self.tick()
            except Exception:  # a locked or full disk must not kill the scheduler: try again
                traceback.print_exc(file=sys.stderr)
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
