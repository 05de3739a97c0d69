"""Where a run or a job stands, one word each, as the trainer, the queue, the run history and
the pages all say it."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"  # waiting for a free trainer
    RUNNING = "running"  # training
    COMPLETED = "completed"  # every epoch trained
    EARLY_STOPPED = "early_stopped"  # patience ran out; the best epoch is kept
    STOPPED = "stopped"  # by the student or the teacher; the best epoch is kept
    OUT_OF_TIME = "out_of_time"  # stopped at the class's time limit; the best epoch is kept
    DIVERGED = "diverged"  # the loss blew up
    FAILED = "failed"  # the worker could not go on (bad data, a full disk, a crash)
    INTERRUPTED = "interrupted"  # the server stopped while it trained
    CANCELLED = "cancelled"  # stopped before it started

    @property
    def active(self) -> bool:
        return self in (Status.QUEUED, Status.RUNNING)

    @property
    def kept_best(self) -> bool:
        """Ended early on purpose, with the best epoch so far kept."""
        return self in (Status.STOPPED, Status.OUT_OF_TIME)

    @property
    def described(self) -> str:
        """As a student reads it in a table of runs."""
        return DESCRIBED[self]


DESCRIBED = {
    Status.QUEUED: "waiting",
    Status.RUNNING: "training",
    Status.COMPLETED: "finished",
    Status.EARLY_STOPPED: "stopped early (patience)",
    Status.STOPPED: "stopped",  # by the student, or by their teacher: the job's message says
    Status.OUT_OF_TIME: "stopped at the time limit",
    Status.DIVERGED: "diverged",
    Status.FAILED: "failed",
    Status.INTERRUPTED: "interrupted by a server restart",
    Status.CANCELLED: "cancelled",
}
