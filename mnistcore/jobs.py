"""Training jobs for a shared server: a queue, a cap on how many train at once, a cap on how
long one may take, and warm worker processes that train them (worker_pool.py), or a Ray
cluster when the teacher names one (ray_workers.py).

A job is one run, or several runs trained in lockstep (with and without dropout). A crashing
or killed worker takes nothing else down. Workers write their progress to the run history
(SQLite); the pages only read it.

The scheduler survives its disk: when the history cannot be written it backs off and says so
once in the log, and a worker that died is remembered until its end is recorded, so no job is
left "running" with no worker behind it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .budget import describe, estimate_seconds
from .checkpoints import delete_checkpoint
from .errors import LimitError, StorageError
from .history import History, JobRecord
from .replays import Replays
from .settings import Settings
from .status import Status
from .training import TrainConfig
from .worker_pool import WorkerPool

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
MAX_RUNNING = 64  # as MNISTCORE_MAX_RUNS allows
MAX_BACKOFF_SECONDS = 5.0

# How a worker's exit code reads to a student (see worker.py).
EXIT_MESSAGES = {
    3: "The server restarted while this run was training.",
    4: "The server's disk is full or read-only, so the run could not be recorded. Tell your teacher.",
}


@dataclass(frozen=True)
class JobLimits:
    max_running: int = 1
    max_queued_per_owner: int = 3
    max_queued: int = 60
    max_run_seconds: float = 600.0
    threads_per_job: int = 2
    kept_per_owner: int = 20  # a student's newest runs keep their weights; older ones keep their curves

    @classmethod
    def from_settings(cls, settings: Settings) -> JobLimits:
        return cls(
            max_running=settings.max_running,
            max_queued_per_owner=settings.queued_per_student,
            max_queued=settings.queued_total,
            max_run_seconds=settings.max_run_minutes * 60.0,
            threads_per_job=settings.threads_per_run,
            kept_per_owner=settings.runs_kept_per_student,
        )


class QueueFull(LimitError):
    pass


class JobManager:
    """Owns the worker processes of one server. Thread-safe: every session calls it."""

    def __init__(
        self, history: History, models_dir: Path, limits: JobLimits | None = None, ray_address: str | None = None
    ):
        """``ray_address``: train on that Ray cluster instead of this machine's own workers."""
        self.history = history
        self.models_dir = Path(models_dir)
        self.limits = limits or JobLimits.from_settings(Settings.from_env())
        if ray_address:
            from .ray_workers import RayWorkers  # Ray is imported only by a server that uses it

            self.workers = RayWorkers(ray_address, history, self.models_dir, self.limits.threads_per_job)
        else:
            self.workers = WorkerPool(
                history.path, self.models_dir, self.limits.threads_per_job, self.limits.max_running
            )
        self._ended: dict[int, tuple[Status, str]] = {}  # job -> (status, message) not yet recorded
        self._lock = threading.Lock()
        self._submitting = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._failing: str | None = None  # the scheduler's last error, logged once
        self._by_teacher: set[int] = set()  # jobs the teacher stopped, still stopping
        history.mark_interrupted()  # whatever was training when the last server died
        self.replays = Replays(history, self.models_dir)
        self._thread = threading.Thread(target=self._loop, name="mnistcore-jobs", daemon=True)
        self._thread.start()

    # --- what students do -------------------------------------------------------------------

    def estimate(self, configs: Sequence[TrainConfig]) -> float:
        return estimate_seconds(configs, self.limits.threads_per_job)

    def check_budget(self, configs: Sequence[TrainConfig]) -> float:
        """The run's expected seconds; LimitError when that is beyond the class's limit."""
        seconds = self.estimate(configs)
        if seconds > self.limits.max_run_seconds:
            raise LimitError(
                f"This run would take {describe(seconds)}; runs on this server may take at most "
                f"{self.limits.max_run_seconds / 60:g} minutes. Use fewer epochs or training "
                f"images, a larger batch, or a smaller model."
            )
        return seconds

    def submit(self, owner: str, title: str, configs: Sequence[TrainConfig]) -> int:
        """Queue a job; LimitError when it would take too long or this student or the whole
        class has too many waiting; StorageError when the history cannot be written."""
        configs = list(configs)
        if not configs or len(configs) > 2 or len({bool(c.dropout) for c in configs}) < len(configs):
            raise ValueError("a run trains one model, or one without and one with dropout")
        self.check_budget(configs)
        with self._submitting:  # a student's double click, or two tabs: checked and queued as one
            same = self.same_as_active(owner, configs)
            if same is not None:
                where = "training" if same.status == Status.RUNNING else "waiting in the queue"
                raise LimitError(f"This run is already {where}: run {same.id}, shown on this page.")
            waiting = self.history.jobs(owner=owner, status=(Status.QUEUED,))
            if len(waiting) >= self.limits.max_queued_per_owner:
                raise QueueFull(f"You already have {len(waiting)} runs waiting; cancel one or wait for it to start.")
            if len(self.history.jobs(status=(Status.QUEUED,))) >= self.limits.max_queued:
                raise QueueFull("The class queue is full; try again when a run has finished.")
            source = self.replays.source_for(configs)  # these very settings, trained or training for another
            with self._lock:  # the scheduler must not start a worker for a follower before it knows
                job_id = self.history.add_job(owner, title, configs)
                if source is not None:
                    self.replays.add(job_id, source)
        self._wake.set()
        try:
            self._prune(owner)
        except (OSError, StorageError) as exc:  # housekeeping: the run is queued all the same
            log.warning("Could not delete the weights of %s's older runs: %s", owner, exc)
        return job_id

    def _prune(self, owner: str) -> None:
        """Delete the weights of a student's runs older than their newest few: every run keeps
        its curves, but one student's hundred runs cannot fill the class's disk."""
        for job in self.history.jobs(owner=owner)[: -self.limits.kept_per_owner]:
            for run in self.history.runs(job.id):
                if run.checkpoint and not job.active:
                    delete_checkpoint(self.models_dir / f"{run.name}.pt")
                    self.history.set_run(run.id, checkpoint=None)

    def same_as_active(self, owner: str, configs: Sequence[TrainConfig]) -> JobRecord | None:
        """The student's waiting or training job that trains exactly ``configs``, if any."""
        for job in self.jobs(owner=owner):
            if job.active and [run.config for run in self.history.runs(job.id)] == list(configs):
                return job
        return None

    def stop(self, job_id: int, owner: str | None = None, by_teacher: bool = False) -> None:
        """A queued job is cancelled; a running one stops at its next batch and keeps its best
        epoch so far; one whose worker is already gone is closed at once. With ``owner``, only
        that student's job is touched; ``by_teacher``, the student is told who stopped it."""
        with self._lock:
            job = self.history.job(job_id)
            if job is None or (owner is not None and job.owner != owner):
                return
            if self.workers.stop(job_id):  # it stops at its next batch
                if by_teacher:
                    self._by_teacher.add(job_id)
                return
            if job_id in self._ended:
                return
            if job.status == Status.QUEUED:
                who = "Your teacher cancelled it" if by_teacher else "Cancelled"
                self.history.finish_job(job_id, Status.CANCELLED, f"{who} before it started.")
            elif job.status == Status.RUNNING and self.replays.source_of(job_id) is not None:  # it trains nothing
                who = "Your teacher stopped this run." if by_teacher else "Stopped by the user."
                self.history.finish_job(job_id, Status.CANCELLED, who)
            elif job.status == Status.RUNNING:  # no worker of ours trains it
                self._record_end(job_id, Status.INTERRUPTED, "This run had stopped training; it was closed.")

    def set_max_running(self, count: object) -> int:
        """How many jobs train at once from now on (the teacher's choice for this lesson; a
        restart goes back to the setting). Running jobs above the new number finish; no new
        one starts until there is room. ValueError unless a whole number from 1 to MAX_RUNNING."""
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RUNNING:
            raise ValueError(f"runs training at once must be a whole number from 1 to {MAX_RUNNING}")
        with self._lock:
            self.limits = replace(self.limits, max_running=count)
            self.workers.resize(count)
        self._wake.set()
        return count

    def forget_ended(self) -> int:
        """A new lesson: every job that has ended goes, with its runs, curves and weights.
        Returns how many jobs went; those waiting or training stay."""
        count, checkpoints = self.history.forget_ended()
        self.replays.forget_missing()
        for checkpoint in checkpoints:
            path = Path(checkpoint)
            if path.parent.resolve() == self.models_dir.resolve():  # the row could have been edited
                delete_checkpoint(path)
        return count

    def job(self, job_id: int) -> JobRecord | None:
        """The job as the history has it, with an end this server knows of but could not yet record."""
        job = self.history.job(job_id)
        return None if job is None else self._with_known_end(job)

    def jobs(self, owner: str | None = None) -> list[JobRecord]:
        return [self._with_known_end(job) for job in self.history.jobs(owner=owner)]

    def running(self) -> list[int]:
        """The jobs a worker is training now."""
        return self.workers.busy()

    def close(self, timeout: float = 10) -> None:
        """Stop the jobs in training (each keeps its best epoch) and end the workers."""
        self._closed = True
        self._wake.set()
        self._thread.join(timeout)
        self.workers.close(timeout)
        try:
            self.tick()
        except StorageError as exc:
            log.warning("Closing the job manager: %s", exc)

    # --- the scheduler ------------------------------------------------------------------------

    def _with_known_end(self, job: JobRecord) -> JobRecord:
        ended = self._ended.get(job.id)
        if ended is None or not job.active:
            return job
        return replace(job, status=ended[0], message=ended[1])

    def _record_end(self, job_id: int, status: Status, message: str) -> None:
        """Close a job whose worker is gone. Remembered first, so that a disk that refuses the
        write now gets it again on the next tick, and the pages show the end meanwhile."""
        self._ended[job_id] = (status, message)
        self.history.finish_job(job_id, status, message)  # a job already ended is left as it is
        del self._ended[job_id]

    def tick(self) -> None:
        """Record the ends the workers could not, then start queued jobs while there is room."""
        with self._lock:
            for job_id, code in self.workers.collect():
                by_teacher = job_id in self._by_teacher
                self._by_teacher.discard(job_id)
                if by_teacher and code == 0:  # the worker wrote "Stopped by the user"
                    self.history.set_job(job_id, message="Your teacher stopped this run.")
                elif code != 0:  # 0: the worker recorded its own end
                    message = EXIT_MESSAGES.get(code, f"The training worker stopped unexpectedly (exit code {code}).")
                    self._ended[job_id] = (Status.FAILED, message)
            for job_id, (status, message) in list(self._ended.items()):
                self._record_end(job_id, status, message)
            if self._closed:
                return
            replayed = self.replays.replayed()
            active = self.history.jobs(status=(Status.QUEUED, Status.RUNNING))
            for job in active:
                if job.id in replayed:  # no worker: its epochs come from the history
                    self.replays.advance(job)
            queued = [job for job in active if job.status == Status.QUEUED and job.id not in replayed]
            for job in queued[: max(0, self.workers.free_slots(self.limits.max_running))]:
                self.history.start_job(job.id)
                if not self.workers.start(job.id, self.limits.max_run_seconds):
                    self._record_end(job.id, Status.FAILED, "The server could not start a trainer; tell your teacher.")

    def _loop(self) -> None:
        wait = POLL_SECONDS
        while not self._closed:
            try:
                self.tick()
            except Exception as exc:
                if str(exc) != self._failing:
                    log.error("The training queue cannot use the run history (%s); retrying.", exc)
                    self._failing = str(exc)
                wait = min(MAX_BACKOFF_SECONDS, wait * 2)
            else:
                if self._failing is not None:
                    log.warning("The training queue can use the run history again.")
                    self._failing = None
                wait = POLL_SECONDS
            self._wake.wait(wait)
            self._wake.clear()


def job_to_watch(jobs: Sequence[JobRecord], pinned: int | None = None) -> JobRecord | None:
    """Which of a student's jobs their Train page shows: the one they picked, else the one
    training, else the next to train, else the newest."""
    by_id = {job.id: job for job in jobs}
    if pinned in by_id:
        return by_id[pinned]
    for status in (Status.RUNNING, Status.QUEUED):
        waiting_or_running = [job for job in jobs if job.status == status]
        if waiting_or_running:
            return waiting_or_running[0]
    return jobs[-1] if jobs else None
