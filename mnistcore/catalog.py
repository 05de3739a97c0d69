"""Which models the app offers: the ones shipped in ``checkpoints/`` and the ones students saved.

Models are named, never given as paths. A saved model lives in a folder of its own,
``runs/saved/<name>/`` (``model.pt``, its card as ``model.json``, its epoch snapshots), so no
name can reach another model's files. The run history records who saved which name and claims
the name in one transaction, so of two students saving one name at once the second is refused,
and a student keeps at most a set number of models. Every card is read from inside its ``.pt``
and checked; a model whose file does not check out is left out (and logged), never offered."""

from __future__ import annotations

import functools
import logging
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from .cards import ModelCard
from .checkpoints import load_checkpoint, save_checkpoint
from .errors import CheckpointError, StorageError
from .history import History
from .models import ARCH_NAMES
from .settings import SHIPPED_DIR
from .snapshots import load_snapshots, save_snapshots

log = logging.getLogger(__name__)

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
SHIPPED_PREFIXES = ("mnist-", "fashion-")  # the shipped models' names; saved ones cannot pass for them
SAVED_FILE = "model.pt"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    card: ModelCard
    owner: str | None = None  # the student who saved it; None for a shipped model

    @property
    def shipped(self) -> bool:
        return self.owner is None

    @property
    def dataset(self) -> str:
        return self.card.dataset

    @property
    def label(self) -> str:
        """The plain name first, the file's second: "Convolutional network (mnist-cnn)"."""
        return f"{ARCH_NAMES[self.card.arch].capitalize()} ({self.name})"

    def title(self, viewer: str | None = None) -> str:
        """As the model picker shows it: "Convolutional network (mnist-cnn): 99.4% right"."""
        accuracy = self.card.test_accuracy
        score = f": {accuracy:.1%} right" if accuracy is not None else ""
        whose = "" if self.shipped else ", yours" if self.owner == viewer else ", a classmate's"
        return f"{self.label[:-1]}{whose}){score}"


def check_name(raw: str) -> str:
    """The name a model is saved under: lower case, spaces as '-'. CheckpointError when it
    cannot be one (the message does not repeat what was typed: it may be anything)."""
    name = re.sub(r"\s+", "-", str(raw).strip().lower())
    if not NAME.fullmatch(name):
        raise CheckpointError("A name is 1 to 40 letters, digits, '-' or '_', starting with a letter or digit.")
    if name.startswith(SHIPPED_PREFIXES):
        raise CheckpointError(
            "Names starting with mnist- or fashion- belong to the models that came with the app; choose another."
        )
    return name


@functools.lru_cache(maxsize=512)
def _checked_card(path: str, modified_ns: int, size: int) -> ModelCard | CheckpointError:
    # Keyed by the file's stat: each version of a file is read and checked once per process,
    # and a bad one is logged once, not on every page view.
    try:
        return load_checkpoint(path)[1]
    except CheckpointError as exc:
        log.warning("Not offering the model in %s: %s", path, exc)
        return exc


def _entry(name: str, path: Path, owner: str | None) -> ModelEntry | None:
    try:
        info = path.stat()
    except OSError:
        return None
    card = _checked_card(str(path), info.st_mtime_ns, info.st_size)
    return None if isinstance(card, CheckpointError) else ModelEntry(name, path, card, owner)


def shipped_models(dataset: str | None = None, folder: Path = SHIPPED_DIR) -> list[ModelEntry]:
    """The models that came with the app, by name."""
    entries = [_entry(path.stem, path, None) for path in sorted(folder.glob("*.pt"))]
    return [e for e in entries if e is not None and dataset in (None, e.dataset)]


class Catalog:
    """The shipped models and the class's saved ones. ``history`` None: the server cannot use
    its runs folder, so only the shipped models are offered and nothing can be saved."""

    def __init__(
        self, saved_dir: Path, history: History | None, saved_per_student: int = 10, shipped_dir: Path = SHIPPED_DIR
    ):
        self.saved_dir = Path(saved_dir)
        self.history = history
        self.saved_per_student = saved_per_student
        self.shipped_dir = shipped_dir

    def shipped(self, dataset: str | None = None) -> list[ModelEntry]:
        return shipped_models(dataset, self.shipped_dir)

    def saved(self, dataset: str | None = None, owner: str | None = None) -> list[ModelEntry]:
        """Saved models (only ``owner``'s when given), oldest first."""
        if self.history is None:
            return []
        try:
            rows = self.history.saved_models(owner)
        except StorageError as exc:
            log.warning("Saved models are not listed: %s", exc)
            return []
        entries = [
            _entry(row.name, self.saved_dir / row.name / SAVED_FILE, row.owner)
            for row in rows
            if NAME.fullmatch(row.name)
        ]
        return [e for e in entries if e is not None and dataset in (None, e.dataset)]

    def offered(self, dataset: str | None, viewer: str) -> list[ModelEntry]:
        """What a student may pick: the shipped models, then their own, then their classmates'."""
        saved = self.saved(dataset)
        return self.shipped(dataset) + [e for e in saved if e.owner == viewer] + [e for e in saved if e.owner != viewer]

    def save(self, source: Path | str, raw_name: str, owner: str, run_id: int | None = None) -> ModelEntry:
        """Publish a trained run's checkpoint (and its epoch snapshots) under a name."""
        name = check_name(raw_name)
        if self.history is None:
            raise StorageError("Saving is off: the server cannot write to its runs folder. Tell your teacher.")
        model, card = load_checkpoint(source)  # before claiming the name: a bad source claims nothing
        snapshots = load_snapshots(source, card)
        self.history.reserve_saved(name, owner, run_id, self.saved_per_student)
        folder = self.saved_dir / name
        try:
            # The name is ours now: a folder already there was left by a save that died half-way.
            shutil.rmtree(folder, ignore_errors=True)
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                raise CheckpointError(
                    f"The model could not be saved ({exc.strerror or exc}). The server's "
                    f"disk may be full or read-only; tell your teacher."
                ) from exc
            path = folder / SAVED_FILE
            if snapshots:  # first, so a model never appears without the replay it was saved with
                save_snapshots(path, snapshots)
            card = replace(card, name=name)
            save_checkpoint(path, model, card)
            self.history.mark_saved(name)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            try:
                self.history.release_saved(name)
            except StorageError:
                log.warning("Could not release the name %s after a failed save", name)
            raise
        return ModelEntry(name, path, card, owner)

    def delete(self, name: str, owner: str) -> None:
        """Remove one of ``owner``'s saved models; CheckpointError when it is not theirs."""
        if self.history is None or name not in {row.name for row in self.history.saved_models(owner)}:
            raise CheckpointError("That model is not one of yours, so it cannot be deleted.")
        self.history.release_saved(name)
        shutil.rmtree(self.saved_dir / name, ignore_errors=True)

    def delete_all(self) -> int:
        """Remove every saved model of the class (a new lesson); the shipped ones stay."""
        rows = self.history.saved_models() if self.history is not None else []
        for row in rows:
            self.history.release_saved(row.name)
            if NAME.fullmatch(row.name):  # a name is a folder only when it is one of ours
                shutil.rmtree(self.saved_dir / row.name, ignore_errors=True)
        return len(rows)
