"""The class's own handwriting: on the Draw page, once the network has answered, a student says
"right" or "no, it was a 7", and the drawing is kept with its digit. The class can then measure
a model on its own handwriting, fine-tune one on it, or take it home as a dataset.

The drawings live in the run history's SQLite file (``History``), in a table of their own. Each
keeps the model's 28x28 input, what every use here needs, and the pad's PNG as it was sent, so
a better preprocessing can be run on it later. Who drew it is kept only to let a student delete
their own and to cap how many one student may keep: nothing that shows or exports drawings
says whose they are.

The file is shared and could be edited by hand, so every read skips a row it cannot make sense
of rather than failing the page that asked."""

from __future__ import annotations

import io
import math
import sqlite3
import time
import zipfile
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .errors import LimitError
from .history import STUDENT_CODE, History
from .image_reader import CANVAS_MAX_BYTES

SIDE = 28
PIXELS = SIDE * SIDE
MAX_PER_STUDENT = 200  # enough for a lesson, too few for one student to fill the server's disk
MAX_IN_CLASS = 20_000
HELD_OUT_EVERY = 4  # drawings whose id is a multiple of this are held out: a quarter of them
SPLITS = ("all", "train", "held-out")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# AUTOINCREMENT: an id is never given twice, even after the newest drawing is deleted or the
# class's work is cleared, so a delete button left on someone's screen can never remove a
# different drawing, and a drawing's split never changes.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS drawings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        owner TEXT NOT NULL,            -- the student's code
        label INTEGER NOT NULL,         -- 0-9, what the student says it is
        input BLOB NOT NULL,            -- the model's 28x28 input, uint8, row by row
        ink BLOB NOT NULL,              -- the pad's PNG as sent
        created REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS drawings_by_label ON drawings(label)",
    "CREATE INDEX IF NOT EXISTS drawings_by_owner ON drawings(owner)",
)

# Rows that can be read back, chosen in SQL rather than after, so a page of LIMIT rows is full
# even when some rows are damaged.
READABLE = (
    f"typeof(label) = 'integer' AND label BETWEEN 0 AND 9 AND typeof(input) = 'blob' AND length(input) = {PIXELS} "
    "AND typeof(created) IN ('real', 'integer')"
)


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays has no one answer
class ClassDrawing:
    """One kept drawing as anyone in the class may see it: deliberately without its owner."""

    id: int
    label: int
    image: np.ndarray  # (28, 28) float32 in [0, 1], read-only
    created: float

    @property
    def held_out(self) -> bool:
        return is_held_out(self.id)


def is_held_out(drawing_id: int) -> bool:
    """Decided by the id alone, so fine-tuning on "train" never sees a "held-out" drawing, and
    adding drawings never moves one already kept from one split to the other."""
    return drawing_id % HELD_OUT_EVERY == 0


class Handwriting:
    """The class's kept drawings. Every method raises StorageError when the disk refuses (as
    ``History`` does), ValueError for an argument no page would send, and LimitError (``add``)
    for a drawing beyond the caps."""

    def __init__(self, history: History, max_per_student: int = MAX_PER_STUDENT, max_in_class: int = MAX_IN_CLASS):
        self.history = history
        self.max_per_student = max_per_student
        self.max_in_class = max_in_class
        # One statement at a time: executescript would commit the transaction write() opened.
        with history.write() as db:
            for statement in SCHEMA:
                db.execute(statement)

    def add(self, owner: str, label: int, model_input: np.ndarray | torch.Tensor, ink_png: bytes) -> int:
        """Keep a drawing the student says is ``label``; its id. ``model_input`` is what the
        network was given, (28, 28) or (1, 1, 28, 28) in [0, 1]; ``ink_png`` the pad's PNG."""
        _check_owner(owner)
        _check_label(label)
        pixels = _input_bytes(model_input)
        if not isinstance(ink_png, bytes) or not ink_png.startswith(PNG_SIGNATURE):
            raise ValueError("The drawing's ink must be the PNG the pad sent.")
        if len(ink_png) > CANVAS_MAX_BYTES:
            raise ValueError(f"The drawing's ink is larger than a pad sends ({CANVAS_MAX_BYTES / 1e6:.0f} MB).")
        # The caps are counted inside the write transaction: two tabs adding at once cannot
        # both slip under them.
        with self.history.write() as db:
            kept = db.execute("SELECT COUNT(*) FROM drawings WHERE owner = ?", (owner,)).fetchone()[0]
            if kept >= self.max_per_student:
                raise LimitError(
                    f"You have kept {kept} drawings: that is the most one student may keep. "
                    "Delete one of yours to keep this one."
                )
            if db.execute("SELECT COUNT(*) FROM drawings").fetchone()[0] >= self.max_in_class:
                raise LimitError(
                    f"The class has kept {self.max_in_class:,} drawings, as many as the server holds. "
                    "Your teacher can clear them to make room."
                )
            return db.execute(
                "INSERT INTO drawings (owner, label, input, ink, created) VALUES (?, ?, ?, ?, ?)",
                (owner, label, pixels, ink_png, time.time()),
            ).lastrowid

    def counts(self) -> list[int]:
        """How many drawings of each digit, 0 to 9."""
        found = [0] * 10
        for row in self.history.read(f"SELECT label, COUNT(*) AS n FROM drawings WHERE {READABLE} GROUP BY label"):
            found[row["label"]] = row["n"]
        return found

    def size(self) -> int:
        return sum(self.counts())

    def drawings(self, label: int | None = None, limit: int = 100, offset: int = 0) -> list[ClassDrawing]:
        """The class's drawings, newest first, of one digit or of all."""
        if label is not None:
            _check_label(label)
        for number in (limit, offset):
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise ValueError("limit and offset must be whole numbers, 0 or more.")
        sql, args = f"SELECT id, label, input, created FROM drawings WHERE {READABLE}", []
        if label is not None:
            sql, args = sql + " AND label = ?", [label]
        return _drawings(self.history.read(sql + " ORDER BY id DESC LIMIT ? OFFSET ?", [*args, limit, offset]))

    def mine(self, owner: str) -> list[ClassDrawing]:
        """The drawings ``owner`` kept, newest first: the ones that student may delete."""
        _check_owner(owner)
        rows = self.history.read(
            f"SELECT id, label, input, created FROM drawings WHERE owner = ? AND {READABLE} ORDER BY id DESC", (owner,)
        )
        return _drawings(rows)

    def delete(self, drawing_id: int, owner: str | None) -> bool:
        """Delete a drawing: a student's own only, or any when ``owner`` is None (the teacher).
        False, with nothing changed, when there is no such drawing or it is someone else's."""
        if not isinstance(drawing_id, int) or isinstance(drawing_id, bool):
            raise ValueError("A drawing is named by its number.")
        sql, args = "DELETE FROM drawings WHERE id = ?", [drawing_id]
        if owner is not None:
            _check_owner(owner)
            sql, args = sql + " AND owner = ?", [*args, owner]
        with self.history.write() as db:
            return db.execute(sql, args).rowcount > 0

    def clear(self) -> int:
        """Delete every drawing, the teacher's "clear the class's work"; how many there were."""
        with self.history.write() as db:
            return db.execute("DELETE FROM drawings").rowcount

    def as_tensors(self, split: str = "all") -> tuple[torch.Tensor, torch.Tensor]:
        """Images uint8 (N, 28, 28) and labels int64 (N,), oldest first: the layout of a dataset
        ``Split``, which ``evaluation.evaluate`` and training take. ``split`` is "all", "train"
        or "held-out" (see ``is_held_out``)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}.")
        images, labels = self._arrays(split)
        return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))

    def export_npz(self) -> bytes:
        """Every drawing as a compressed NumPy file, laid out like MNIST's: ``images`` uint8
        (N, 28, 28), white on black, and ``labels`` uint8 (N,). No owners."""
        images, labels = self._arrays("all")
        out = io.BytesIO()
        np.savez_compressed(out, images=images, labels=labels)
        return out.getvalue()

    def export_png_zip(self) -> bytes:
        """Every drawing as a 28x28 grayscale PNG in a zip, one folder per digit (``3/41.png``:
        drawing 41, a 3), the layout torchvision's ImageFolder reads, with a README.txt."""
        rows = self._rows("all")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", README.format(count=len(rows)))
            for drawing_id, label, pixels in rows:
                png = io.BytesIO()
                Image.fromarray(pixels, "L").save(png, format="PNG")
                archive.writestr(f"{label}/{drawing_id}.png", png.getvalue())
        return out.getvalue()

    def _rows(self, split: str) -> list[tuple[int, int, np.ndarray]]:
        """(id, label, uint8 (28, 28) pixels) of every readable drawing in ``split``, oldest first."""
        rows = self.history.read(f"SELECT id, label, input FROM drawings WHERE {READABLE} ORDER BY id")
        found = []
        for row in rows:
            pixels = _pixels(row["input"])
            if pixels is None:
                continue
            if split == "all" or is_held_out(row["id"]) == (split == "held-out"):
                found.append((row["id"], row["label"], pixels))
        return found

    def _arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        rows = self._rows(split)
        images = np.stack([pixels for _, _, pixels in rows]) if rows else np.zeros((0, SIDE, SIDE), np.uint8)
        return images, np.array([label for _, label, _ in rows], dtype=np.uint8)


README = """The class's own handwriting
===========================

{count} drawings of digits made by the class on the Draw page, each with the digit its author
said it is. Each is the 28 x 28 picture the network was given: grayscale, white ink on black,
centred and scaled the way MNIST's digits are.

Each folder is one digit: 3/41.png is drawing number 41, a 3. A folder for a digit no one drew
is left out. torchvision's ImageFolder reads this layout as it is; it numbers the classes by the
folders present, so check its class_to_idx if some digit is missing.

The drawings do not say who made them.
"""


def ink_png(image: Image.Image) -> bytes:
    """The pad's drawing as the PNG that is kept: encoded here from the decoded picture, so
    what is stored is a plain PNG whatever else the browser's bytes held."""
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _check_owner(owner: object) -> None:
    if not isinstance(owner, str) or not STUDENT_CODE.fullmatch(owner):
        raise ValueError("The student's code must be 16 characters of 0-9 and a-f.")


def _is_label(label: object) -> bool:
    return isinstance(label, int) and not isinstance(label, bool) and 0 <= label <= 9


def _check_label(label: object) -> None:
    if not _is_label(label):
        raise ValueError("A drawing's digit must be a whole number from 0 to 9.")


def _input_bytes(model_input: object) -> bytes:
    """The model's input as it is kept: 784 bytes, 0 (black) to 255 (white), row by row."""
    if isinstance(model_input, torch.Tensor):
        model_input = model_input.detach().cpu().numpy()
    if not isinstance(model_input, np.ndarray):
        raise ValueError("The drawing must be the model's input, an array or a tensor.")
    if model_input.shape not in ((SIDE, SIDE), (1, 1, SIDE, SIDE)):
        raise ValueError(f"The drawing must be {SIDE} x {SIDE} pixels, as the model takes it.")
    if not (np.issubdtype(model_input.dtype, np.integer) or np.issubdtype(model_input.dtype, np.floating)):
        raise ValueError("The drawing's pixels must be numbers.")
    values = model_input.reshape(SIDE, SIDE).astype(np.float64)
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise ValueError("The drawing's pixels must be between 0 and 1.")
    return np.rint(values * 255).astype(np.uint8).tobytes()


def _pixels(blob: object) -> np.ndarray | None:
    """A kept input as uint8 (28, 28), or None when the row holds something else."""
    if not isinstance(blob, bytes) or len(blob) != PIXELS:
        return None
    return np.frombuffer(blob, dtype=np.uint8).reshape(SIDE, SIDE)


def _drawings(rows: list[sqlite3.Row]) -> list[ClassDrawing]:
    found = []
    for row in rows:
        pixels, created = _pixels(row["input"]), row["created"]
        if pixels is None or not math.isfinite(created):  # SQLite can keep an infinity
            continue
        image = pixels.astype(np.float32) / 255.0
        image.setflags(write=False)
        found.append(ClassDrawing(row["id"], row["label"], image, float(created)))
    return found
