"""One training job in its own process: ``python -m mnistcore.worker DB JOB_ID MODELS_DIR THREADS``.
Started by the JobManager; SIGTERM asks it to stop at the next batch and keep the best epoch."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import torch

from .checkpoints import make_card, save_checkpoint
from .data import load_split
from .errors import MnistcoreError
from .evaluation import evaluate
from .history import History
from .snapshots import save_snapshots, take_snapshot, wants_snapshot
from .training import EpochEnd, Finished, Progress, train

PROGRESS_EVERY_SECONDS = 0.25  # progress rows written at most this often


def run_job(history: History, job_id: int, models_dir: Path, stop: threading.Event) -> None:
    """Train the job's runs in lockstep, record every epoch, save each run's best weights."""
    runs = history.runs(job_id)
    parent = os.getppid()
    last_write = 0.0
    snapshots = [{} for _ in runs]  # for the Inside page's epoch replay
    for event in train([r.config for r in runs], stop=stop):
        if isinstance(event, Progress):
            if os.getppid() != parent:  # the server died: its successor marks this job interrupted
                sys.exit(3)
            now = time.monotonic()
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
            test = load_split(runs[0].config.dataset, "test")
            for row, result in zip(runs, event.results):
                values = dict(status=result.status, message=result.message)
                if result.best_epoch is not None:
                    loss, accuracy = evaluate(result.model, test.images, test.labels)
                    path = models_dir / f"run-{row.id}.pt"
                    save_checkpoint(path, result.model, make_card(result, loss, accuracy, name=f"run-{row.id}"))
                    if snapshots[row.position]:
                        save_snapshots(path, snapshots[row.position])
                    values.update(best_epoch=result.best_epoch, test_accuracy=accuracy, checkpoint=str(path))
                history.set_run(row.id, **values)
            history.finish_job(job_id, event.status, event.message)


def main(argv: list[str]) -> int:
    db, job_id, models_dir, threads = argv
    # Training is background work: when the class draws at the same time, the server's answers
    # to their strokes come first and the run takes the cycles left over.
    os.nice(10)
    torch.set_num_threads(int(threads))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    history = History(db)
    try:
        run_job(history, int(job_id), Path(models_dir), stop)
    except MnistcoreError as exc:
        history.finish_job(int(job_id), "failed", str(exc))
    except Exception as exc:  # the worker's last word: the page shows why, the log keeps the trace
        traceback.print_exc()
        history.finish_job(int(job_id), "failed", f"Training failed: {type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
