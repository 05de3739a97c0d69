"""Run history in SQLite (``runs/history.sqlite``): each job (one run, or a with/without-dropout
pair trained in lockstep), its runs' configs, status and checkpoints, and every epoch's
metrics. Written by the training workers, read by the pages; it survives a server restart.

Every call opens its own connection: the server's threads and the worker processes each
write, and SQLite's own locking (with a busy timeout, so a writer waits instead of failing)
keeps their rows apart."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import CheckpointError, LimitError, StorageError
from .status import Status
from .training import EpochMetrics, TrainConfig, config_from_dict

ACTIVE = (Status.QUEUED, Status.RUNNING)
# A student's code, the owner of their rows in every table here: 16 lower-case hex digits.
STUDENT_CODE = re.compile(r"[0-9a-f]{16}")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,           -- a Status
    message TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    epoch INTEGER NOT NULL DEFAULT 0,   -- progress within the run, for the progress bar
    batch INTEGER NOT NULL DEFAULT 0,
    batches INTEGER NOT NULL DEFAULT 0,
    epochs INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    position INTEGER NOT NULL,      -- index among the job's lockstep configs
    label TEXT NOT NULL,
    config TEXT NOT NULL,           -- JSON of TrainConfig
    status TEXT NOT NULL DEFAULT 'queued',
    best_epoch INTEGER,
    test_accuracy REAL,
    checkpoint TEXT,
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    epoch INTEGER NOT NULL,
    train_loss REAL NOT NULL,
    val_loss REAL NOT NULL,
    val_accuracy REAL NOT NULL,
    seconds REAL NOT NULL,
    is_best INTEGER NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs(owner, id);
CREATE TABLE IF NOT EXISTS saved_models (
    name TEXT PRIMARY KEY,          -- also its folder under saved/: one folder, one model
    owner TEXT NOT NULL,
    run_id INTEGER,
    created REAL NOT NULL,
    ready INTEGER NOT NULL DEFAULT 0    -- 1 once its files are written
);
"""


@dataclass(frozen=True)
class RunRecord:
    """One model's training within a job (a job trains one model, or two in lockstep)."""

    id: int
    job_id: int
    position: int
    label: str
    config: TrainConfig
    status: Status
    best_epoch: int | None
    test_accuracy: float | None
    checkpoint: str | None
    message: str

    @property
    def name(self) -> str:
        """As a student knows it, "run-3-no-dropout" or "run-3-dropout" (run 3 being its job);
        also its weights' file name and its save name to begin with."""
        return f"run-{self.job_id}-{'dropout' if self.config.dropout else 'no-dropout'}"


@dataclass(frozen=True)
class SavedModel:
    name: str
    owner: str
    run_id: int | None
    created: float


@dataclass(frozen=True)
class JobRecord:
    id: int
    owner: str
    title: str
    status: Status
    message: str
    created: float
    started: float | None
    finished: float | None
    epoch: int
    batch: int
    batches: int
    epochs: int

    @property
    def active(self) -> bool:
        return self.status.active

    @property
    def fraction_done(self) -> float:
        if not self.active:
            return 1.0
        if not self.batches:
            return 0.0
        return min(1.0, ((self.epoch - 1) + self.batch / self.batches) / self.epochs)


def _job(row: sqlite3.Row) -> JobRecord:
    return JobRecord(**{**dict(row), "status": Status(row["status"])})


STORAGE_MESSAGE = (
    "The server could not {what} its run history: its disk may be full or read-only. "
    "Nothing was changed; tell your teacher."
)


class History:
    """Every method raises StorageError, never a raw sqlite3 error, when the disk refuses."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect(write=True)) as db:
                db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writing workers
                db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(STORAGE_MESSAGE.format(what="open")) from exc

    def _connect(self, write: bool) -> sqlite3.Connection:
        # timeout=30: a writer waits for another instead of failing at once.
        return sqlite3.connect(self.path, timeout=30, isolation_level=None if write else "DEFERRED")

    # The class's other tables (names, drawings, suggestions) live in this same file and are
    # written and read through these two as well.
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front.
        try:
            with closing(self._connect(write=True)) as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        with suppress(sqlite3.Error):
                            db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise StorageError(STORAGE_MESSAGE.format(what="write")) from exc

    def read(self, sql: str, args: Sequence = ()) -> list[sqlite3.Row]:
        try:
            with closing(self._connect(write=False)) as db:
                db.row_factory = sqlite3.Row
                return db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(STORAGE_MESSAGE.format(what="read")) from exc

    # --- jobs -----------------------------------------------------------------------------

    def add_job(self, owner: str, title: str, configs: Sequence[TrainConfig]) -> int:
        with self.write() as db:
            job_id = db.execute(
                "INSERT INTO jobs (owner, title, status, created, epochs) VALUES (?, ?, ?, ?, ?)",
                (owner, title, Status.QUEUED, time.time(), configs[0].epochs),
            ).lastrowid
            db.executemany(
                "INSERT INTO runs (job_id, position, label, config) VALUES (?, ?, ?, ?)",
                [(job_id, i, c.label, json.dumps(asdict(c))) for i, c in enumerate(configs)],
            )
        return job_id

    def job(self, job_id: int) -> JobRecord | None:
        rows = self.read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(rows[0]) if rows else None

    def jobs(self, owner: str | None = None, status: Sequence[Status] | None = None) -> list[JobRecord]:
        sql, args = "SELECT * FROM jobs WHERE 1", []
        if owner is not None:
            sql, args = sql + " AND owner = ?", [*args, owner]
        if status is not None:
            sql += f" AND status IN ({','.join('?' * len(status))})"
            args += list(status)
        return [_job(r) for r in self.read(sql + " ORDER BY id", args)]

    def queue(self) -> list[int]:
        """The waiting jobs, the next to start first."""
        return [r["id"] for r in self.read("SELECT id FROM jobs WHERE status = ? ORDER BY id", (Status.QUEUED,))]

    def queue_position(self, job_id: int) -> int:
        """1 for the next job to start; 0 when the job is not waiting."""
        queue = self.queue()
        return queue.index(job_id) + 1 if job_id in queue else 0

    def start_job(self, job_id: int) -> None:
        with self.write() as db:
            db.execute("UPDATE jobs SET status = ?, started = ? WHERE id = ?", (Status.RUNNING, time.time(), job_id))
            db.execute("UPDATE runs SET status = ? WHERE job_id = ?", (Status.RUNNING, job_id))

    def set_job(self, job_id: int, **values) -> None:
        columns = ", ".join(f"{k} = ?" for k in values)
        with self.write() as db:
            db.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*values.values(), job_id))

    def finish_job(self, job_id: int, status: Status, message: str = "") -> None:
        """Close a job that is still open and whichever of its runs are, in one transaction; a
        job already ended keeps its end."""
        with self.write() as db:
            closed = db.execute(
                "UPDATE jobs SET status = ?, message = ?, finished = ? WHERE id = ? AND status IN (?, ?)",
                (status, message, time.time(), job_id, *ACTIVE),
            )
            if not closed.rowcount:
                return
            db.execute("UPDATE runs SET status = ? WHERE job_id = ? AND status IN (?, ?)", (status, job_id, *ACTIVE))

    def mark_interrupted(self) -> int:
        """After a server restart: jobs that were training when it died can never finish."""
        with self.write() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM jobs WHERE status = ?", (Status.RUNNING,))]
            for job_id in ids:
                db.execute(
                    "UPDATE jobs SET status = ?, finished = ?, message = ? WHERE id = ?",
                    (Status.INTERRUPTED, time.time(), "The server stopped while this run was training.", job_id),
                )
                db.execute(
                    "UPDATE runs SET status = ? WHERE job_id = ? AND status != ?",
                    (Status.INTERRUPTED, job_id, Status.COMPLETED),
                )
        return len(ids)

    # --- runs and epochs ----------------------------------------------------------------

    def runs(self, job_id: int) -> list[RunRecord]:
        rows = self.read("SELECT * FROM runs WHERE job_id = ? ORDER BY position", (job_id,))
        return [
            RunRecord(**{**dict(r), "config": config_from_dict(json.loads(r["config"])), "status": Status(r["status"])})
            for r in rows
        ]

    def run(self, run_id: int) -> RunRecord | None:
        rows = self.read("SELECT job_id FROM runs WHERE id = ?", (run_id,))
        return next((r for r in self.runs(rows[0]["job_id"]) if r.id == run_id), None) if rows else None

    def set_run(self, run_id: int, **values) -> None:
        columns = ", ".join(f"{k} = ?" for k in values)
        with self.write() as db:
            db.execute(f"UPDATE runs SET {columns} WHERE id = ?", (*values.values(), run_id))

    def add_epoch(self, run_id: int, m: EpochMetrics) -> None:
        with self.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, m.epoch, m.train_loss, m.val_loss, m.val_accuracy, m.seconds, int(m.is_best)),
            )

    def epochs(self, run_id: int) -> list[dict]:
        rows = self.read(
            "SELECT epoch, train_loss, val_loss, val_accuracy, seconds, is_best FROM epochs "
            "WHERE run_id = ? ORDER BY epoch",
            (run_id,),
        )
        return [dict(r) for r in rows]

    def metrics_csv(self, run_id: int) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["epoch", "train_loss", "val_loss", "val_accuracy", "seconds", "is_best"])
        for e in self.epochs(run_id):
            writer.writerow(e.values())
        return out.getvalue()

    def forget_ended(self) -> tuple[int, list[str]]:
        """Remove every job that has ended, with its runs and their epochs, in one transaction;
        returns how many jobs went and the checkpoints their runs had, for the caller to delete.
        Jobs waiting or training are kept."""
        ended = f"SELECT id FROM jobs WHERE status NOT IN ({', '.join('?' * len(ACTIVE))})"
        with self.write() as db:
            checkpoints = [
                r[0]
                for r in db.execute(
                    f"SELECT checkpoint FROM runs WHERE checkpoint IS NOT NULL AND job_id IN ({ended})", ACTIVE
                )
            ]
            db.execute(f"DELETE FROM epochs WHERE run_id IN (SELECT id FROM runs WHERE job_id IN ({ended}))", ACTIVE)
            db.execute(f"DELETE FROM runs WHERE job_id IN ({ended})", ACTIVE)
            jobs = db.execute(f"DELETE FROM jobs WHERE id IN ({ended})", ACTIVE).rowcount
        return jobs, checkpoints

    # --- saved models -------------------------------------------------------------------

    def reserve_saved(self, name: str, owner: str, run_id: int | None, limit: int) -> None:
        """Claim ``name`` for ``owner``'s model, in one transaction: of two students saving the
        same name at once, the second is refused. CheckpointError when the name is taken,
        LimitError when the student already keeps ``limit`` models."""
        with self.write() as db:
            if db.execute("SELECT 1 FROM saved_models WHERE name = ?", (name,)).fetchone():
                raise CheckpointError(f"A model called {name} already exists; choose another name.")
            kept = db.execute("SELECT COUNT(*) FROM saved_models WHERE owner = ?", (owner,)).fetchone()[0]
            if kept >= limit:
                raise LimitError(
                    f"You have saved {kept} models, the most one student may keep. Delete one of them first."
                )
            db.execute(
                "INSERT INTO saved_models (name, owner, run_id, created) VALUES (?, ?, ?, ?)",
                (name, owner, run_id, time.time()),
            )

    def mark_saved(self, name: str) -> None:
        with self.write() as db:
            db.execute("UPDATE saved_models SET ready = 1 WHERE name = ?", (name,))

    def release_saved(self, name: str) -> None:
        with self.write() as db:
            db.execute("DELETE FROM saved_models WHERE name = ?", (name,))

    def saved_models(self, owner: str | None = None) -> list[SavedModel]:
        """Saved models whose files are complete, oldest first."""
        sql, args = "SELECT name, owner, run_id, created FROM saved_models WHERE ready = 1", []
        if owner is not None:
            sql, args = sql + " AND owner = ?", [owner]
        return [SavedModel(**dict(r)) for r in self.read(sql + " ORDER BY created, name", args)]
