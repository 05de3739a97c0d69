"""Runs that are trained once however many students ask for them. Training here is
deterministic (the same settings, seed and thread count give the same curves; a test shows it
across two workers), so a job identical to another student's is not trained again:

- identical to one that **completed**, its epochs are copied from that job at a watchable pace,
  then its weights, and the page says it is a replay;
- identical to one **waiting or training**, it follows that job: it waits while that job waits,
  and gets each epoch as that job records it. Should that job not complete (its student stops
  it, it fails), the follower goes back to the queue in its own place and trains itself:
  nothing one student does costs another their run.

A follower stays an ordinary job in the history, with runs of its own: the pages, Stop, Save and
the class's chart treat it like any other. A class that all presses the same preset costs one
run's training, not thirty. Which job follows which is kept in a table of its own."""

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from .checkpoints import card_path, snapshots_path
from .history import ACTIVE, History, JobRecord
from .status import Status
from .training import TrainConfig

EPOCH_SECONDS = 0.4  # one stored epoch appears this often: quick, but a student sees it grow

TABLE = """CREATE TABLE IF NOT EXISTS replays (
    job_id INTEGER PRIMARY KEY,     -- the job that is replayed
    source_job INTEGER NOT NULL     -- the finished job whose epochs and weights it gets
)"""


class Replays:
    def __init__(self, history: History, models_dir: Path):
        self.history = history
        self.models_dir = Path(models_dir)
        with history.write() as db:
            db.execute(TABLE)

    def source_for(self, configs: Sequence[TrainConfig]) -> int | None:
        """The job to follow: the newest that completed with exactly ``configs`` and still has
        every run's weights, else the oldest waiting or training with them; None when there is
        none, and the job must train."""
        wanted = [json.dumps(asdict(c)) for c in configs]
        done = self._same(wanted, "j.status = ? ORDER BY j.id DESC", (Status.COMPLETED,))
        for job_id in done:
            if all(self._weights(r) for r in self.history.runs(job_id)):
                return job_id
        # Not itself a follower: a chain would wait on a job that never trains.
        active = self._same(
            wanted, "j.status IN (?, ?) AND j.id NOT IN (SELECT job_id FROM replays) ORDER BY j.id", ACTIVE
        )
        return active[0] if active else None

    def _same(self, wanted: list[str], where: str, args: Sequence) -> list[int]:
        rows = self.history.read(
            f"SELECT j.id FROM jobs j WHERE (SELECT COUNT(*) FROM runs r WHERE r.job_id = j.id) = ? "
            f"AND {where} LIMIT 20",
            (len(wanted), *args),
        )
        return [
            r["id"] for r in rows if [json.dumps(asdict(run.config)) for run in self.history.runs(r["id"])] == wanted
        ]

    def add(self, job_id: int, source_job: int) -> None:
        with self.history.write() as db:
            db.execute("INSERT INTO replays (job_id, source_job) VALUES (?, ?)", (job_id, source_job))

    def forget_missing(self) -> None:
        """Drop what followed jobs no longer in the history (a lesson cleared): a job id that
        SQLite gives again must not inherit an old follower's row."""
        with self.history.write() as db:
            db.execute("DELETE FROM replays WHERE job_id NOT IN (SELECT id FROM jobs)")

    def source_of(self, job_id: int) -> int | None:
        rows = self.history.read("SELECT source_job FROM replays WHERE job_id = ?", (job_id,))
        return rows[0]["source_job"] if rows else None

    def replayed(self) -> set[int]:
        """Every job that follows another, so the scheduler gives none of them a worker."""
        return {r["job_id"] for r in self.history.read("SELECT job_id FROM replays")}

    def advance(self, job: JobRecord, now: float | None = None) -> None:
        """One step of a follower: wait with its source, take the epochs due by ``now``, and
        complete with the source's weights; or, when the source ended without completing, go
        back to the queue to train."""
        source_id = self.source_of(job.id)
        source = self.history.job(source_id) if source_id is not None else None
        if source_id is None or not job.active:
            return
        if source is None or (not source.active and source.status != Status.COMPLETED):
            self._train_instead(job)
            return
        if job.status == Status.QUEUED:
            if source.status == Status.QUEUED:
                return  # it waits with its source
            self.history.start_job(job.id)
            self.history.set_job(job.id, message=_message(source))
            job = self.history.job(job.id)
        now = time.time() if now is None else now
        # A finished source is replayed at a watchable pace; a training one is followed live.
        due = int((now - (job.started or now)) / EPOCH_SECONDS) + 1 if not source.active else source.epochs
        originals, copies = self.history.runs(source.id), self.history.runs(job.id)
        last = max((len(self.history.epochs(r.id)) for r in originals), default=0)
        with self.history.write() as db:
            for original, copy in zip(originals, copies, strict=True):
                db.execute(
                    "INSERT OR IGNORE INTO epochs SELECT ?, epoch, train_loss, val_loss, val_accuracy, seconds, "
                    "is_best FROM epochs WHERE run_id = ? AND epoch <= ?",
                    (copy.id, original.id, due),
                )
            # Live, its progress bar moves with the source's; replayed, one "batch" an epoch.
            values = (source.epoch, source.batch, source.batches) if source.active else (min(due, last), 1, 1)
            db.execute("UPDATE jobs SET epoch = ?, batch = ?, batches = ? WHERE id = ?", (*values, job.id))
        if source.active or due < last:
            return
        for original, copy in zip(originals, copies, strict=True):
            values = dict(status=original.status, best_epoch=original.best_epoch, message=original.message)
            if self._weights(original):
                source_path, path = Path(original.checkpoint), self.models_dir / f"{copy.name}.pt"
                for name in (Path, card_path, snapshots_path):  # the weights, their card, their epoch snapshots
                    if name(source_path).exists():
                        shutil.copyfile(name(source_path), name(path))
                values.update(test_accuracy=original.test_accuracy, checkpoint=str(path))
            self.history.set_run(copy.id, **values)
        self.history.finish_job(job.id, Status.COMPLETED, job.message)

    def _train_instead(self, job: JobRecord) -> None:
        """Back to the queue, in its own place, with nothing copied: it trains itself."""
        with self.history.write() as db:
            db.execute("DELETE FROM replays WHERE job_id = ?", (job.id,))
            db.execute("DELETE FROM epochs WHERE run_id IN (SELECT id FROM runs WHERE job_id = ?)", (job.id,))
            db.execute(
                "UPDATE jobs SET status = ?, message = '', started = NULL, epoch = 0, batch = 0, batches = 0 "
                "WHERE id = ?",
                (Status.QUEUED, job.id),
            )
            db.execute("UPDATE runs SET status = ? WHERE job_id = ?", (Status.QUEUED, job.id))

    def _weights(self, run) -> bool:
        if not run.checkpoint or run.best_epoch is None:
            return False
        path = Path(run.checkpoint)
        return path.parent.resolve() == self.models_dir.resolve() and path.is_file()


def _message(source: JobRecord) -> str:
    if source.active:
        return f"Training once for two: run {source.id} has these very settings, so you watch it train."
    return f"Replayed from run {source.id}, which trained these very settings: no training needed."
