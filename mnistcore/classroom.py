"""The class as a whole, for the teacher's page: who is here and what they are doing, the names
students chose, every student's runs on one chart and in one table, and the experiment the
teacher pushes to everyone's Train page.

It all lives in the run history's SQLite file (tables ``students`` and ``suggestions``, beside
the history's own), written and read through ``History.write`` and ``History.read``, so it
survives a restart and every server thread sees the same class.

A student is the 16-character code in their URL; a name is only what the class sees. Names are
display text: pages show them as plain text, never as markdown or HTML."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from .data import TRAIN_SIZE, get_spec
from .errors import MnistcoreError
from .history import STUDENT_CODE, History
from .models import ARCH_NAMES, ARCHS
from .presets import TrainForm
from .status import Status
from .training import TrainConfig, config_from_dict

if TYPE_CHECKING:  # only named: the class's clearing is handed them by the page
    from .catalog import Catalog
    from .handwriting import Handwriting
    from .jobs import JobManager

TABLES = (
    """CREATE TABLE IF NOT EXISTS students (
        code TEXT PRIMARY KEY,          -- the student's code, as in their URL
        name TEXT NOT NULL,             -- '' until they choose one
        seen REAL NOT NULL,             -- when a page of theirs last ran (time.time())
        doing TEXT NOT NULL DEFAULT ''  -- one of DOING
    )""",
    # AUTOINCREMENT: a new suggestion never gets the id of a withdrawn one, so a page that
    # remembers which suggestion a student dismissed is not fooled by the next.
    """CREATE TABLE IF NOT EXISTS suggestions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        form TEXT NOT NULL,             -- JSON of TrainForm.as_values()
        title TEXT NOT NULL,
        created REAL NOT NULL
    )""",
)

UNNAMED = "a student"
MAX_NAME = 24
DOING = ("drawing", "training", "looking")
AWAY = "away"  # not seen lately, but a run of theirs is training or waiting
SEEN_EVERY_S = 10.0  # a page reruns often; its student's row is written at most this often


def _create_tables(history: History) -> None:
    # One statement at a time: executescript would commit the write transaction half-way.
    with history.write() as db:
        for table in TABLES:
            db.execute(table)


def _ensure_tables(history: History) -> None:
    """For the module's functions, which may run before any Classroom: a read, and a write only
    the first time."""
    names = {"students", "suggestions"}
    have = {r["name"] for r in history.read("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not names <= have:
        _create_tables(history)


def _check_code(code: object) -> str:
    if not isinstance(code, str) or not STUDENT_CODE.fullmatch(code):
        raise ValueError("a student's code is 16 lowercase hex digits")
    return code


# --- names ------------------------------------------------------------------------------------

_EMOJI_PARTS = {"So", "Sk", "Mn"}  # emoji, skin tones, the emoji variation selector


def _joins_emoji(name: str, i: int) -> bool:
    """Whether the zero-width joiner at ``i`` glues two emoji into one (a family, a flag); it
    is a format character, but emoji need it."""
    return (
        name[i] == "\u200d"
        and 0 < i < len(name) - 1
        and unicodedata.category(name[i - 1]) in _EMOJI_PARTS
        and unicodedata.category(name[i + 1]) in _EMOJI_PARTS
    )


def check_display_name(raw: object) -> str:
    """The name as the class will see it: spaces trimmed and runs of them made one, 1 to 24
    characters, no hidden characters (controls, or formatting such as right-to-left
    overrides that would make a name look like another; emoji are fine). ValueError, with a
    message for the student, otherwise."""
    if not isinstance(raw, str):
        raise ValueError("Type your name as text.")
    name = unicodedata.normalize("NFC", " ".join(raw.split()))
    if not name:
        raise ValueError("Type a name: it needs at least one letter.")
    if len(name) > MAX_NAME:
        raise ValueError(f"That name is too long. Use at most {MAX_NAME} letters.")
    for i, char in enumerate(name):
        if unicodedata.category(char).startswith("C") and not _joins_emoji(name, i):
            raise ValueError(
                "That name has a hidden character in it. Type it again with letters, numbers, spaces or emoji."
            )
    return name


# --- the class ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Student:
    name: str  # UNNAMED until they choose one
    doing: str  # one of DOING, or AWAY
    seen_s_ago: float | None  # None: never seen on a page (a run queued some other way)
    running: int  # their jobs training now
    queued: int  # their jobs waiting


@dataclass(frozen=True)
class Suggestion:
    id: int
    title: str
    form: TrainForm


class Classroom:
    """Students' names and whereabouts, and the teacher's suggested experiment. Thread-safe:
    every session of one server shares one."""

    def __init__(self, history: History):
        self.history = history
        _create_tables(history)
        self._last_seen: dict[str, tuple[str, float]] = {}  # code -> (doing, when written)
        self._lock = threading.Lock()

    # --- names -------------------------------------------------------------------------------

    def set_name(self, code: str, name: object) -> str:
        """Give the student a name (checked: ValueError says what is wrong); returns it as kept."""
        code, name = _check_code(code), check_display_name(name)
        with self.history.write() as db:
            db.execute(
                "INSERT INTO students (code, name, seen) VALUES (?, ?, ?) "
                "ON CONFLICT(code) DO UPDATE SET name = excluded.name",
                (code, name, time.time()),
            )
        return name

    def names(self) -> dict[str, str]:
        """Every named student's code and name, for showing whose run is whose."""
        return {r["code"]: r["name"] for r in self.history.read("SELECT code, name FROM students WHERE name != ''")}

    def name_of(self, code: str) -> str | None:
        rows = self.history.read("SELECT name FROM students WHERE code = ?", (code,))
        return (rows[0]["name"] or None) if rows else None

    # --- who is here ----------------------------------------------------------------------------

    def seen(self, code: str, doing: str, now: float | None = None) -> None:
        """The student's page ran and they are ``doing`` one of DOING. Written at most every
        SEEN_EVERY_S seconds for the same activity: the roster counts minutes, not reruns."""
        code = _check_code(code)
        if doing not in DOING:
            raise ValueError(f"doing must be one of {', '.join(DOING)}")
        now = time.time() if now is None else now
        with self._lock:
            last = self._last_seen.get(code)
            if last is not None and last[0] == doing and 0 <= now - last[1] < SEEN_EVERY_S:
                return
            self._last_seen[code] = (doing, now)
        with self.history.write() as db:
            db.execute(
                "INSERT INTO students (code, name, seen, doing) VALUES (?, '', ?, ?) "
                "ON CONFLICT(code) DO UPDATE SET seen = excluded.seen, doing = excluded.doing",
                (code, now, doing),
            )

    def roster(self, now: float | None = None, within_s: float = 120) -> list[Student]:
        """The students seen in the last ``within_s`` seconds, and those who were not but have
        a run training or waiting (shown as AWAY); named ones first, by name."""
        now = time.time() if now is None else now
        counts: dict[str, dict[str, int]] = {}
        for r in self.history.read(
            "SELECT owner, status, COUNT(*) AS n FROM jobs WHERE status IN (?, ?) GROUP BY owner, status",
            (Status.RUNNING, Status.QUEUED),
        ):
            counts.setdefault(r["owner"], {})[r["status"]] = r["n"]
        rows = self.history.read(
            "SELECT code, name, seen, doing FROM students WHERE seen >= ? "
            "OR code IN (SELECT owner FROM jobs WHERE status IN (?, ?))",
            (now - within_s, Status.RUNNING, Status.QUEUED),
        )
        known = {r["code"]: r for r in rows}
        roster = []
        for code in known.keys() | counts.keys():
            row, jobs = known.get(code), counts.get(code, {})
            here = row is not None and row["seen"] >= now - within_s
            roster.append(
                Student(
                    name=(row["name"] if row else "") or UNNAMED,
                    doing=(row["doing"] or "looking") if here else AWAY,
                    seen_s_ago=max(0.0, now - row["seen"]) if row else None,
                    running=jobs.get(Status.RUNNING, 0),
                    queued=jobs.get(Status.QUEUED, 0),
                )
            )
        return sorted(roster, key=lambda s: (s.name == UNNAMED, s.name.casefold(), s.seen_s_ago or 0.0))

    # --- the teacher's suggestion ---------------------------------------------------------------

    def suggest(self, form: TrainForm) -> int:
        """Push ``form`` to every student's Train page, in place of any earlier suggestion;
        ValueError (or DatasetError) when it cannot train. Returns its id."""
        form.configs()  # the same check as a student's own form
        with self.history.write() as db:
            db.execute("DELETE FROM suggestions")
            return db.execute(
                "INSERT INTO suggestions (form, title, created) VALUES (?, ?, ?)",
                (json.dumps(form.as_values()), form.title, time.time()),
            ).lastrowid

    def suggestion(self) -> Suggestion | None:
        """The newest suggestion; None when there is none, or when its row no longer makes a
        form that trains (settings changed since, or the row was edited by hand)."""
        rows = self.history.read("SELECT id, form, title FROM suggestions ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        try:
            values = json.loads(rows[0]["form"])
            if not isinstance(values, dict) or not isinstance(rows[0]["title"], str):
                return None
            form = TrainForm.from_values(values)
            form.configs()
        except (ValueError, TypeError, KeyError, MnistcoreError):  # JSONDecodeError is a ValueError
            return None
        return Suggestion(id=rows[0]["id"], title=rows[0]["title"], form=form)

    def withdraw(self) -> None:
        with self.history.write() as db:
            db.execute("DELETE FROM suggestions")


# --- the class's runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassRun:
    student: str  # their name, or UNNAMED
    job_id: int
    run_id: int
    config: TrainConfig
    status: Status
    epochs: list[dict]  # epoch, train_loss, val_loss, val_accuracy; in order
    test_accuracy: float | None

    @property
    def best_val_loss(self) -> float:
        """The lowest validation loss of any epoch (inf when none is a number)."""
        return min((e["val_loss"] for e in self.epochs if math.isfinite(e["val_loss"])), default=math.inf)

    @property
    def best_epoch(self) -> int | None:
        best = self.best_val_loss
        return next((e["epoch"] for e in self.epochs if e["val_loss"] == best), None)

    @property
    def title(self) -> str:
        """What it trained, as the Train page titles it: "Layered network on Fashion-MNIST,
        1,000 images, 25 epochs"."""
        return TrainForm.from_configs([self.config]).title


def class_runs(history: History, job_ids: Sequence[int] | None = None) -> list[ClassRun]:
    """Every run of every student (of ``job_ids`` only, when given) that has at least one
    epoch, oldest first. A run whose stored settings no longer read (an older version's) is
    left out rather than stop the page."""
    _ensure_tables(history)
    only = ""
    if job_ids is not None:
        only = f" AND r.job_id IN ({', '.join(str(int(i)) for i in job_ids) or 'NULL'})"
    rows = history.read(
        "SELECT r.id, r.job_id, r.config, r.status, r.test_accuracy, COALESCE(s.name, '') AS name "
        "FROM runs r JOIN jobs j ON j.id = r.job_id LEFT JOIN students s ON s.code = j.owner "
        f"WHERE EXISTS (SELECT 1 FROM epochs e WHERE e.run_id = r.id){only} ORDER BY r.job_id, r.position"
    )
    epochs: dict[int, list[dict]] = {}
    for e in history.read(
        "SELECT run_id, epoch, train_loss, val_loss, val_accuracy FROM epochs ORDER BY run_id, epoch"
    ):
        epochs.setdefault(e["run_id"], []).append(
            {k: e[k] for k in ("epoch", "train_loss", "val_loss", "val_accuracy")}
        )
    runs = []
    for r in rows:
        if not epochs.get(r["id"]):  # removed since the first read
            continue
        try:
            config, status = config_from_dict(json.loads(r["config"])), Status(r["status"])
        except (ValueError, TypeError, MnistcoreError):
            continue
        runs.append(
            ClassRun(
                student=r["name"] or UNNAMED,
                job_id=r["job_id"],
                run_id=r["id"],
                config=config,
                status=status,
                epochs=epochs[r["id"]],
                test_accuracy=r["test_accuracy"],
            )
        )
    return runs


def _training_images(config: TrainConfig) -> int:
    return config.train_size or TRAIN_SIZE


# What a teacher may compare, each as the words a group is called by.
GROUP_BY: dict[str, Callable[[TrainConfig], str]] = {
    "dropout": lambda c: "with dropout" if c.dropout else "without dropout",
    "model": lambda c: ARCH_NAMES.get(c.arch, c.arch),
    "dataset": lambda c: get_spec(c.dataset).title,
    "learning rate": lambda c: f"learning rate {c.lr:g}",
    "training images": lambda c: f"{_training_images(c):,} training images",
}
# The order the groups are shown in: smallest first, "without" before "with".
_ORDER: dict[str, Callable[[TrainConfig], object]] = {
    "dropout": lambda c: bool(c.dropout),
    "model": lambda c: ARCHS.index(c.arch) if c.arch in ARCHS else len(ARCHS),
    "dataset": lambda c: c.dataset,
    "learning rate": lambda c: c.lr,
    "training images": _training_images,
}


@dataclass(frozen=True)
class Group:
    """The validation loss of one group's runs, epoch by epoch. A run counts at the epochs it
    reached: runs of different lengths (stopped early, still training, fewer epochs asked for)
    give a mean over fewer runs at later epochs, and ``count`` says over how many."""

    label: str
    runs: list[ClassRun]
    epochs: list[int]  # every epoch at least one of the runs reached
    mean: list[float]
    low: list[float]
    high: list[float]
    sd: list[float]  # the runs' own spread (population standard deviation): 0 for one run
    count: list[int]  # runs that reached each epoch


def _group(label: str, runs: list[ClassRun]) -> Group:
    losses: dict[int, list[float]] = {}
    for run in runs:
        for e in run.epochs:
            if math.isfinite(e["val_loss"]):
                losses.setdefault(e["epoch"], []).append(e["val_loss"])
    epochs = sorted(losses)
    return Group(
        label=label,
        runs=runs,
        epochs=epochs,
        mean=[statistics.fmean(losses[e]) for e in epochs],
        low=[min(losses[e]) for e in epochs],
        high=[max(losses[e]) for e in epochs],
        sd=[statistics.pstdev(losses[e]) for e in epochs],
        count=[len(losses[e]) for e in epochs],
    )


def groups(runs: Sequence[ClassRun], by: str) -> list[Group]:
    """``runs`` in groups by the setting ``by`` (a key of GROUP_BY), each with its validation
    loss per epoch; ValueError for any other ``by``."""
    if by not in GROUP_BY:
        raise ValueError(f"runs are grouped by one of: {', '.join(GROUP_BY)}")
    label, order = GROUP_BY[by], _ORDER[by]
    members: dict[str, list[ClassRun]] = {}
    for run in sorted(runs, key=lambda r: (order(r.config), r.job_id, r.run_id)):
        members.setdefault(label(run.config), []).append(run)
    return [_group(name, group) for name, group in members.items()]


def leaderboard(runs: Sequence[ClassRun], limit: int = 20) -> list[dict]:
    """The runs with the lowest validation loss first (the earlier run first on a tie), as rows
    for a table: who, what they trained, its dropout, its best epoch and that epoch's loss, and
    its test accuracy (None until measured)."""
    ranked = sorted(
        (r for r in runs if math.isfinite(r.best_val_loss)), key=lambda r: (r.best_val_loss, r.job_id, r.run_id)
    )
    return [
        {
            "student": r.student,
            "what": r.title,
            "dropout": r.config.dropout,
            "best epoch": r.best_epoch,
            "best validation loss": r.best_val_loss,
            "test accuracy": r.test_accuracy,
        }
        for r in ranked[:limit]
    ]


# --- export and clearing ------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A spreadsheet runs a cell that starts like a formula: text that does gets an apostrophe
    in front, so a name like "=HYPERLINK(...)" stays a name."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def class_csv(history: History) -> str:
    """Every epoch of every run of the class, one row each: the student, the job, the run
    ("with dropout 0.2"), its settings (``train_size`` as a number of images), and the
    epoch's losses and accuracy."""
    runs = class_runs(history)
    settings = list(asdict(TrainConfig()))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", "job", "run", *settings, "epoch", "train_loss", "val_loss", "val_accuracy"])
    for run in runs:
        values = {**asdict(run.config), "train_size": _training_images(run.config)}
        for e in run.epochs:
            row = [run.student, run.job_id, run.config.label, *(values[k] for k in settings)]
            row += [e["epoch"], e["train_loss"], e["val_loss"], e["val_accuracy"]]
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def end_lesson(manager: JobManager, catalog: Catalog, handwriting: Handwriting | None = None) -> dict[str, int]:
    """The teacher's "clear the class's work": waiting runs cancelled and training ones told to
    stop, every ended run with its curves and weights, every saved model, the names and the
    suggestion; the class's handwriting too when given. A run still stopping stays until it
    has stopped. Returns how many of each went."""
    stopped = 0
    for job in manager.jobs():
        if job.active:
            manager.stop(job.id, by_teacher=True)
            stopped += 1
    gone = {"runs stopped": stopped, "runs": manager.forget_ended(), "saved models": catalog.delete_all()}
    gone.update(clear_class(manager.history))
    if handwriting is not None:
        gone["drawings"] = handwriting.clear()
    return gone


def clear_class(history: History) -> dict[str, int]:
    """Forget the class: every student's name (and whereabouts) and the suggestion, in one
    transaction. The caller removes the rest (jobs, runs, epochs, saved models and their
    files), which belong to the history and the catalog. Returns how many of each went."""
    _ensure_tables(history)
    with history.write() as db:
        names = db.execute("DELETE FROM students").rowcount
        suggestions = db.execute("DELETE FROM suggestions").rowcount
    return {"names": names, "suggestions": suggestions}
