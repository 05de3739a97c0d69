"""One job's training as events small enough to travel, and their recording in the run history.

``job_events`` runs the trainer and sends on what the server keeps: progress at most every
PROGRESS_EVERY_SECONDS, each epoch's metrics with the Inside page's snapshots, and at the end
every run's result with its best weights. ``record_job`` writes those to the run history and
saves each run's checkpoint. A local worker does both in its own process; on Ray the events
are made on a cluster machine and recorded by the server (see ray_workers.py).
"""

from __future__ import annotations

import functools
import math
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .checkpoints import save_run
from .data import Split, get_spec
from .errors import MnistcoreError, StorageError
from .history import History
from .models import build_model
from .snapshots import save_snapshots, take_snapshot, wants_snapshot
from .status import Status
from .training import EpochEnd, EpochMetrics, Finished, Progress, Run, TrainConfig, TrainData, train

PROGRESS_EVERY_SECONDS = 0.25  # progress is sent at most this often
STORAGE_FAILED = 4  # what ``recorded`` returns when the run history cannot be written


@dataclass(frozen=True)
class EpochDone:
    metrics: tuple[EpochMetrics, ...]
    snapshots: dict[int, dict[str, torch.Tensor]]  # run index -> the epoch's weights, for the Inside page


@dataclass(frozen=True)
class RunResult:
    """A finished run as the server keeps it: what ``save_run`` reads from a ``Run``, with the
    best epoch's weights on the CPU in place of the live model and optimizer."""

    config: TrainConfig
    status: Status
    message: str
    best_epoch: int | None
    best_val_loss: float
    best_val_accuracy: float | None
    history: tuple[EpochMetrics, ...]
    state: dict[str, torch.Tensor]

    @classmethod
    def of(cls, run: Run) -> RunResult:
        state = {k: v.detach().cpu().clone() for k, v in run.model.state_dict().items()}
        return cls(
            run.config,
            run.status,
            run.message,
            run.best_epoch,
            run.best_val_loss,
            run.best_val_accuracy,
            tuple(run.history),
            state,
        )

    @property
    def epochs_trained(self) -> int:
        return len(self.history)

    @functools.cached_property
    def model(self) -> nn.Module:
        spec = get_spec(self.config.dataset)
        model = build_model(self.config.arch, self.config.dropout, spec.mean, spec.std)
        model.load_state_dict(self.state)
        return model.eval()


@dataclass(frozen=True)
class JobDone:
    status: Status
    message: str
    results: tuple[RunResult, ...]


JobEvent = Progress | EpochDone | JobDone


def job_events(
    configs: Sequence[TrainConfig],
    stop: threading.Event,
    max_seconds: float = math.inf,
    data: TrainData | None = None,
) -> Iterator[JobEvent]:
    """Train ``configs`` in lockstep; past ``max_seconds`` (the class's time limit) the job
    stops at the next batch, keeping each run's best epoch."""
    started = time.monotonic()
    last_progress = -math.inf
    out_of_time = False
    for event in train(list(configs), data=data, stop=stop):
        if isinstance(event, Progress):
            now = time.monotonic()
            if now - started > max_seconds and not stop.is_set():
                out_of_time = True
                stop.set()
            if now - last_progress >= PROGRESS_EVERY_SECONDS or event.batch == event.batches:
                last_progress = now
                yield event
        elif isinstance(event, EpochEnd):
            snapshots = {
                m.run: take_snapshot(event.models[m.run])
                for m in event.metrics
                if wants_snapshot(configs[m.run].arch, m.epoch, configs[m.run].epochs)
            }
            yield EpochDone(event.metrics, snapshots)
        elif isinstance(event, Finished):
            status, message = event.status, event.message
            if out_of_time:
                status = Status.OUT_OF_TIME
                message = f"Stopped at the class's time limit of {max_seconds / 60:g} minutes."
                for run in event.results:
                    if run.status == Status.STOPPED:
                        run.status = Status.OUT_OF_TIME
            yield JobDone(status, message, tuple(RunResult.of(run) for run in event.results))


def record_job(history: History, job_id: int, models_dir: Path, events: Iterable[JobEvent], test: Split) -> None:
    """Record every event of the job's training; at the end save each run's best weights,
    scored on ``test``."""
    runs = history.runs(job_id)
    snapshots = [{} for _ in runs]
    for event in events:
        if isinstance(event, Progress):
            history.set_job(job_id, epoch=event.epoch, batch=event.batch, batches=event.batches)
        elif isinstance(event, EpochDone):
            for m in event.metrics:
                history.add_epoch(runs[m.run].id, m)
            for index, weights in event.snapshots.items():
                snapshots[index][event.metrics[0].epoch] = weights
        elif isinstance(event, JobDone):
            for row, result in zip(runs, event.results, strict=True):
                values = dict(status=result.status, message=result.message)
                if result.best_epoch is not None:
                    path = Path(models_dir) / f"{row.name}.pt"
                    if snapshots[row.position]:
                        save_snapshots(path, snapshots[row.position])
                    card = save_run(result, path, test)
                    values.update(best_epoch=result.best_epoch, test_accuracy=card.test_accuracy, checkpoint=str(path))
                history.set_run(row.id, **values)
            history.finish_job(job_id, event.status, event.message)


def recorded(history_path: Path, job_id: int, record: Callable[[History], None]) -> int:
    """Run ``record`` (a job's training and its recording) on the run history; a failure becomes
    the job's end, in words for its student. 0 when the job's end is recorded; STORAGE_FAILED
    when nothing can be written, so that the caller records it later."""
    try:
        history = History(history_path)  # per job: a disk that refused one job may take the next
        try:
            record(history)
        except StorageError:
            raise
        except MnistcoreError as exc:
            history.finish_job(job_id, Status.FAILED, str(exc))
        except Exception as exc:  # the job's last word: the page says so, the log keeps the trace
            traceback.print_exc()
            history.finish_job(
                job_id,
                Status.FAILED,
                f"Training failed unexpectedly ({type(exc).__name__}); the server's log has the details.",
            )
    except StorageError as exc:
        print(f"mnistcore, job {job_id}: {exc}", file=sys.stderr)
        return STORAGE_FAILED
    return 0
