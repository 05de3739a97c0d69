"""Checkpoints: a ``.pt`` file with the weights and the model card, plus the card again as
readable JSON beside it. Loading never unpickles code (``weights_only=True``); saving is atomic
(write a temp file, then rename), so a failed save leaves the previous checkpoint intact."""

from __future__ import annotations

import datetime
import json
import os
import pickle
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from .data import get_spec
from .errors import CheckpointError, DatasetError
from .models import build_model, count_parameters
from .training import RunResult

FORMAT_VERSION = 1


def make_card(result: RunResult, test_loss: float | None = None,
              test_accuracy: float | None = None, name: str | None = None) -> dict:
    config = result.config
    return {
        "format_version": FORMAT_VERSION,
        "name": name,
        "dataset": config.dataset,
        "arch": config.arch,
        "dropout": config.dropout,
        "parameters": count_parameters(result.model),
        "epochs_trained": result.epochs_trained,
        "best_epoch": result.best_epoch,
        "status": result.status,
        "val_loss": result.best_val_loss if result.best_epoch else None,
        "val_accuracy": result.best_val_accuracy,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "config": asdict(config),
        "history": [
            {k: v for k, v in m.as_dict().items() if k != "run"} for m in result.history
        ],
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def card_path(path: Path | str) -> Path:
    return Path(path).with_suffix(".json")


def atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: Path | str, model: nn.Module, card: dict) -> Path:
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    try:
        atomic_write(path, lambda f: torch.save({"card": card, "state_dict": state}, f))
        atomic_write(card_path(path), lambda f: f.write(json.dumps(card, indent=2).encode()))
    except OSError as exc:
        raise CheckpointError(f"Could not save checkpoint {path}: {exc.strerror or exc}") from exc
    return path


def model_for_card(card: dict) -> nn.Module:
    """An untrained model of the card's architecture, dropout and dataset normalisation."""
    spec = get_spec(card["dataset"])
    return build_model(card["arch"], card.get("dropout", 0.0), spec.mean, spec.std)


def load_checkpoint(path: Path | str, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """The model (eval mode, on ``device``) and its card; CheckpointError with a reason otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" in str(exc):  # the file names a function or class to call: it could run code
            raise CheckpointError(f"Checkpoint {path} was refused: it holds more than weights "
                                  f"(it could run code), so it is not loaded.") from exc
        raise CheckpointError(f"Checkpoint {path} is not a readable checkpoint (corrupt or truncated).") from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"Checkpoint {path} is not a readable checkpoint (corrupt or truncated).") from exc
    if not isinstance(blob, dict) or not isinstance(blob.get("card"), dict) or "state_dict" not in blob:
        raise CheckpointError(f"Checkpoint {path} is not an mnistcore checkpoint.")
    card = blob["card"]
    try:
        model = model_for_card(card)
        model.load_state_dict(blob["state_dict"])
    except (KeyError, ValueError, RuntimeError, TypeError, DatasetError) as exc:
        raise CheckpointError(f"Checkpoint {path} does not match its model card "
                              f"({card.get('arch')!r} on {card.get('dataset')!r}).") from exc
    return model.to(device).eval(), card
