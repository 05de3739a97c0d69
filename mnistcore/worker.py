"""One training job in its own process:
``python -m mnistcore.worker DB JOB_ID MODELS_DIR THREADS MAX_SECONDS``.

Started by the JobManager. SIGTERM asks it to stop at the next batch and keep the best epoch;
so does the class's time limit. Its exit code tells the manager what it could not record
itself: 3, its server is gone; 4, the run history cannot be written (a full or read-only disk)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import torch

from .checkpoints import save_run
from .data import load_split
from .errors import MnistcoreError, StorageError
from .history import History
from .snapshots import save_snapshots, take_snapshot, wants_snapshot
from .status import Status
from .training import EpochEnd, Finished, Progress, train

PROGRESS_EVERY_SECONDS = 0.25  # progress rows written at most this often
SERVER_GONE, STORAGE_FAILED = 3, 4


def run_job(
    history: History, job_id: int, models_dir: Path, stop: threading.Event, max_seconds: float = float("inf")
) -> None:
    """Train the job's runs in lockstep, record every epoch, save each run's best weights."""
    runs = history.runs(job_id)
    test = load_split(runs[0].config.dataset, "test")  # now: a missing or damaged file fails before training
    parent = os.getppid()
    started = time.monotonic()
    out_of_time = False
    last_write = 0.0
    snapshots = [{} for _ in runs]  # for the Inside page's epoch replay
    for event in train([r.config for r in runs], stop=stop):
        if isinstance(event, Progress):
            if os.getppid() != parent:  # the server died: its successor marks this job interrupted
                sys.exit(SERVER_GONE)
            now = time.monotonic()
            if now - started > max_seconds and not stop.is_set():
                out_of_time = True
                stop.set()  # stops at the next batch, keeping the best epoch
            if now - last_write >= PROGRESS_EVERY_SECONDS or event.batch == event.batches:
                history.set_job(job_id, epoch=event.epoch, batch=event.batch, batches=event.batches)
                last_write = now
        elif isinstance(event, EpochEnd):
            for m in event.metrics:
                history.add_epoch(runs[m.run].id, m)
                config = runs[m.run].config
                if wants_snapshot(config.arch, m.epoch, config.epochs):
                    snapshots[m.run][m.epoch] = take_snapshot(event.models[m.run])
        elif isinstance(event, Finished):
            status, message = event.status, event.message
            if out_of_time:
                status = Status.OUT_OF_TIME
                message = f"Stopped at the class's time limit of {max_seconds / 60:g} minutes."
            for row, result in zip(runs, event.results, strict=True):
                if out_of_time and result.status == Status.STOPPED:
                    result.status = Status.OUT_OF_TIME
                values = dict(status=result.status, message=result.message)
                if result.best_epoch is not None:
                    path = models_dir / f"{row.name}.pt"
                    if snapshots[row.position]:
                        save_snapshots(path, snapshots[row.position])
                    card = save_run(result, path, test)
                    values.update(best_epoch=result.best_epoch, test_accuracy=card.test_accuracy, checkpoint=str(path))
                history.set_run(row.id, **values)
            history.finish_job(job_id, status, message)


def main(argv: list[str]) -> int:
    db, job_id, models_dir, threads, max_seconds = argv
    # Training is background work: when the class draws at the same time, the server's answers
    # to their strokes come first and the run takes the cycles left over.
    os.nice(10)
    torch.set_num_threads(int(threads))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        history = History(db)
        try:
            run_job(history, int(job_id), Path(models_dir), stop, float(max_seconds))
        except StorageError:
            raise
        except MnistcoreError as exc:
            history.finish_job(int(job_id), Status.FAILED, str(exc))
        except Exception as exc:  # the worker's last word: the page says so, the log keeps the trace
            traceback.print_exc()
            history.finish_job(
                int(job_id),
                Status.FAILED,
                f"Training failed unexpectedly ({type(exc).__name__}); the server's log has the details.",
            )
            return 1
    except StorageError as exc:  # nothing can be recorded: the manager records it for us
        print(f"mnistcore worker, job {job_id}: {exc}", file=sys.stderr)
        return STORAGE_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
