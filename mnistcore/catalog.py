"""Which models the app can offer: the shipped checkpoints in ``checkpoints/`` and the runs
students saved under ``runs/saved/``. Models are named, never given as paths, so no request
can make the app read a file outside those two folders."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import CheckpointError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "checkpoints"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


def runs_dir() -> Path:
    return Path(os.environ.get("MNISTCORE_RUNS", ROOT / "runs"))


def saved_dir() -> Path:
    return runs_dir() / "saved"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    card: dict
    shipped: bool

    @property
    def dataset(self) -> str:
        return self.card["dataset"]

    @property
    def title(self) -> str:
        accuracy = self.card.get("test_accuracy")
        score = f", test accuracy {accuracy:.1%}" if accuracy is not None else ""
        return f"{self.name} ({self.card['arch']}{score})"


def checkpoint_path(name: str, shipped: bool) -> Path:
    """The file for a model name; refuses names that are not plain file names."""
    if not NAME.fullmatch(name) or ".." in name:
        raise CheckpointError(f"{name!r} is not a valid model name (letters, digits, '.', '-', '_').")
    return (SHIPPED_DIR if shipped else saved_dir()) / f"{name}.pt"


def list_models(dataset: str | None = None) -> list[ModelEntry]:
    """Shipped models first, then saved runs, each sorted by name; unreadable cards are skipped."""
    entries = []
    for shipped, folder in ((True, SHIPPED_DIR), (False, saved_dir())):
        for card_file in sorted(folder.glob("*.json")):
            weights = card_file.with_suffix(".pt")
            try:
                card = json.loads(card_file.read_text())
            except (OSError, ValueError):
                continue
            if not weights.is_file() or not isinstance(card, dict) or "dataset" not in card:
                continue
            if dataset is None or card["dataset"] == dataset:
                entries.append(ModelEntry(card_file.stem, weights, card, shipped))
    return entries


def save_model(source: Path | str, name: str) -> ModelEntry:
    """Publish a trained run's checkpoint under a name, so the Draw and Clothes pages offer it."""
    from .checkpoints import load_checkpoint, save_checkpoint
    from .snapshots import load_snapshots, save_snapshots

    path = checkpoint_path(name, shipped=False)
    if path.exists() or checkpoint_path(name, shipped=True).exists():
        raise CheckpointError(f"A model called {name!r} already exists; choose another name.")
    model, card = load_checkpoint(source)
    card = {**card, "name": name}
    snapshots = load_snapshots(source)
    if snapshots:  # first, so a model never appears without the replay it was saved with
        save_snapshots(path, snapshots)
    save_checkpoint(path, model, card)
    return ModelEntry(name, path, card, shipped=False)
