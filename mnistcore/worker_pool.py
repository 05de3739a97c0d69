"""The server's warm training workers (``python -m mnistcore.worker``), one per run that may
train at once, started ahead of the first run and each replaced when it dies.

A worker is a fresh interpreter, not a multiprocessing child: Streamlit swaps in its own
``__main__`` while a script runs, and a spawned child would run the app's script again. Each
worker has its own share of the cores: torch's thread pool is process-wide, so runs in threads
would fight over it (two 2-thread runs on 2 cores train many times slower than one after the
other).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import subprocess
import sys
import threading
from pathlib import Path

from .settings import ROOT

log = logging.getLogger(__name__)


class _Worker:
    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.job: int | None = None  # the job it is training
        self.ready = False  # warm: torch imported, the datasets read
        self.leaving = False  # told to exit: no job for it
        self.listener: threading.Thread | None = None  # reads its output until it exits

    def send(self, message: dict) -> None:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()


class WorkerPool:
    """Thread-safe for ``stop``; the rest is called by the JobManager's scheduler."""

    def __init__(self, history_path: Path, models_dir: Path, threads: int, size: int):
        self.command = [sys.executable, "-m", "mnistcore.worker", str(history_path), str(models_dir), str(threads)]
        self.size = size
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._messages: queue.Queue[tuple[_Worker, dict | None]] = queue.Queue()
        self._ended: list[tuple[int, int]] = []
        for _ in range(size):
            self._spawn()

    def _spawn(self) -> _Worker | None:
        try:
            process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
        except OSError as exc:
            log.error("Could not start a training worker: %s", exc)
            return None
        worker = _Worker(process)
        worker.listener = threading.Thread(
            target=self._listen, args=(worker,), name="mnistcore-worker-output", daemon=True
        )
        worker.listener.start()
        self._workers.append(worker)
        return worker

    def _listen(self, worker: _Worker) -> None:
        for line in worker.process.stdout:
            try:
                self._messages.put((worker, json.loads(line)))
            except ValueError:
                log.warning("A training worker said something unexpected: %r", line[:200])
        self._messages.put((worker, None))  # its output closed: it exited

    def start(self, job_id: int, max_seconds: float) -> bool:
        """Hand the job to an idle worker, warm if one is; False when no worker could be started."""
        self._read_messages()
        with self._lock:
            idle = sorted((w for w in self._workers if w.job is None and not w.leaving), key=lambda w: not w.ready)
            for worker in [*idle, None]:
                worker = worker or self._spawn()
                if worker is None:
                    return False
                try:
                    worker.send({"train": job_id, "max_seconds": max_seconds})
                except OSError:  # it died since; its end is collected with the rest
                    continue
                worker.job = job_id
                return True
        return False

    def stop(self, job_id: int) -> bool:
        """Ask the job's worker to stop it at the next batch; False when no worker trains it."""
        with self._lock:
            for worker in self._workers:
                if worker.job == job_id:
                    with contextlib.suppress(OSError):  # it died: its end is collected with the rest
                        worker.send({"stop": job_id})
                    return True
        return False

    def collect(self) -> list[tuple[int, int]]:
        """Jobs whose training ended since the last call, with the code: 0 when the worker
        recorded the end itself, else the worker's (see worker.py) or its exit status."""
        self._read_messages()
        with self._lock:
            ended, self._ended = self._ended, []
        return ended

    def _read_messages(self) -> None:
        while True:
            try:
                worker, message = self._messages.get_nowait()
            except queue.Empty:
                break
            with self._lock:
                if message is None:
                    self._reap(worker)
                elif message.get("ready"):
                    worker.ready = True
                elif "ended" in message:
                    self._ended.append((int(message["ended"]), int(message["code"])))
                    worker.job = None
                    if len(self._staying()) > self.size:  # the teacher lowered the number meanwhile
                        self._retire(worker)

    def _reap(self, worker: _Worker) -> None:
        worker.process.wait()
        self._workers.remove(worker)
        if worker.job is not None:
            self._ended.append((worker.job, worker.process.returncode))
        if worker.ready and len(self._staying()) < self.size:  # one that never warmed up is not retried in a loop
            self._spawn()

    def free_slots(self, max_running: int) -> int:
        """How many more jobs may start now."""
        return max_running - len(self.busy())

    def busy(self) -> list[int]:
        with self._lock:
            return [w.job for w in self._workers if w.job is not None]

    def warm(self) -> bool:
        """Every worker has torch imported and the datasets read."""
        self._read_messages()
        with self._lock:
            staying = self._staying()
            return len(staying) >= self.size and all(w.ready for w in staying)

    def pids(self) -> list[int]:
        """Every worker's process, training or waiting."""
        with self._lock:
            return [w.process.pid for w in self._workers]

    def pid(self, job_id: int) -> int | None:
        with self._lock:
            return next((w.process.pid for w in self._workers if w.job == job_id), None)

    def resize(self, size: int) -> None:
        """Keep ``size`` workers: start the missing ones warming, let idle extras go."""
        with self._lock:
            self.size = size
            while len(self._staying()) < size and self._spawn() is not None:
                pass
            extra = len(self._staying()) - size
            for worker in [w for w in self._staying() if w.job is None][: max(0, extra)]:
                self._retire(worker)

    def _staying(self) -> list[_Worker]:
        return [w for w in self._workers if not w.leaving]

    def _retire(self, worker: _Worker) -> None:
        worker.leaving = True
        with contextlib.suppress(OSError):
            worker.process.stdin.close()  # it exits; it is reaped with the rest

    def close(self, timeout: float) -> None:
        """Stop every job at its next batch (each keeps its best epoch), then end the workers."""
        with self._lock:
            self.size = 0  # none is replaced from now on
            workers = list(self._workers)
        for worker in workers:
            try:
                if worker.job is not None:
                    worker.send({"stop": worker.job})
                worker.process.stdin.close()
            except OSError:
                pass
        for worker in workers:
            try:
                worker.process.wait(timeout)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            # Its last word, and the end of its output, queued before they are collected: a
            # closed pool has no worker left on its list.
            worker.listener.join(timeout)
        self.collect()
