"""A warm training worker: ``python -m mnistcore.worker DB MODELS_DIR THREADS``.

The JobManager keeps as many of these as runs may train at once, started before anyone presses
Train: each imports torch and reads the datasets once, then trains the jobs it is sent one after
another, so a run starts at once instead of after seconds of start-up. A crash or a kill still
takes down only this process; the manager records its job failed and starts another worker.

It speaks one JSON object a line. In, on stdin: ``{"train": JOB, "max_seconds": S}`` and
``{"stop": JOB}`` (stop at the next batch, keeping the best epoch); end of input: exit once the
job in hand is recorded. Out: ``{"ready": true}`` once warm, then ``{"ended": JOB, "code": C}``
after each job. Code 0: the worker recorded the job's end itself; 4: the run history cannot be
written (a full or read-only disk), so the manager records it. A worker whose server is gone
exits with code 3 mid-run; the server's successor marks that job interrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from .data import DATASETS, load_split
from .errors import MnistcoreError
from .history import History
from .hold import held
from .job_stream import JobEvent, job_events, record_job, recorded
from .settings import Settings
from .training import Progress

SERVER_GONE = 3


def run_job(
    history: History,
    job_id: int,
    models_dir: Path,
    stop: threading.Event,
    max_seconds: float = float("inf"),
    hold_file: Path | None = None,
) -> None:
    """Train the job's runs in lockstep, record every epoch, save each run's best weights."""
    runs = history.runs(job_id)
    test = load_split(runs[0].config.dataset, "test")  # now: a missing or damaged file fails before training
    parent = os.getppid()

    def server_gone() -> bool:
        return os.getppid() != parent

    events = held(job_events([r.config for r in runs], stop, max_seconds), hold_file, stop, server_gone)
    record_job(history, job_id, models_dir, _while_server_lives(events, server_gone), test)


def _while_server_lives(events: Iterator[JobEvent], server_gone: Callable[[], bool]) -> Iterator[JobEvent]:
    for event in events:
        if isinstance(event, Progress) and server_gone():
            sys.exit(SERVER_GONE)
        yield event


def train_one(
    db: Path, job_id: int, models_dir: Path, stop: threading.Event, max_seconds: float, hold_file: Path | None
) -> int:
    return recorded(db, job_id, lambda history: run_job(history, job_id, models_dir, stop, max_seconds, hold_file))


def warm_up() -> None:
    """Read every dataset once (they stay cached), so no job waits for it. A dataset that cannot
    be read is left to the job that needs it, which fails saying how to fix it."""
    for name in DATASETS:
        for split in ("train", "test"):
            with contextlib.suppress(MnistcoreError):
                load_split(name, split)


class Jobs:
    """What the server has sent: jobs to train in order, and which of them to stop."""

    def __init__(self):
        self.waiting: queue.Queue[dict | None] = queue.Queue()
        self._lock = threading.Lock()
        self._stops: set[int] = set()
        self._current: tuple[int, threading.Event] | None = None

    def read(self, lines) -> None:
        for line in lines:
            message = json.loads(line)
            if "train" in message:
                self.waiting.put(message)
            elif "stop" in message:
                self.stop(int(message["stop"]))
        self.waiting.put(None)  # the server closed our input: finish the job in hand, then exit

    def stop(self, job_id: int | None = None) -> None:
        """Stop ``job_id``, now or as soon as it starts; None: the job in hand, if any."""
        with self._lock:
            if job_id is not None:
                self._stops.add(job_id)
            if self._current is not None and job_id in (None, self._current[0]):
                self._current[1].set()

    def begin(self, job_id: int) -> threading.Event:
        stop = threading.Event()
        with self._lock:
            self._current = (job_id, stop)
            if job_id in self._stops:
                stop.set()
        return stop

    def end(self, job_id: int) -> None:
        with self._lock:
            self._current = None
            self._stops.discard(job_id)


def main(argv: list[str]) -> int:
    db, models_dir, threads = argv
    # The protocol has stdout to itself: anything else printed goes to the log (stderr).
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def send(message: dict) -> None:
        try:
            channel.write(json.dumps(message) + "\n")
        except BrokenPipeError:  # the server is gone: nobody is left to tell, and nothing to flush at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), channel.fileno())
            sys.exit(SERVER_GONE)

    # Training is background work: when the class draws at the same time, the server's answers
    # to their strokes come first and the runs take the cycles left over.
    os.nice(10)
    torch.set_num_threads(int(threads))
    hold_file = Settings.from_env().hold_file
    jobs = Jobs()

    def terminate(*_):  # the server is closing: stop the job in hand, keep its best epoch, exit
        jobs.stop()
        jobs.waiting.put(None)

    signal.signal(signal.SIGTERM, terminate)
    threading.Thread(target=jobs.read, args=(sys.stdin,), name="mnistcore-worker-input", daemon=True).start()
    warm_up()
    send({"ready": True})
    while (message := jobs.waiting.get()) is not None:
        job_id = int(message["train"])
        stop = jobs.begin(job_id)
        code = train_one(Path(db), job_id, Path(models_dir), stop, float(message["max_seconds"]), hold_file)
        jobs.end(job_id)
        send({"ended": job_id, "code": code})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
