"""Checkpoints: a ``.pt`` file with the weights and the model card, plus the card again as
readable JSON beside it (for people; the app reads only the card inside the ``.pt``).

Loading treats the file as untrusted input: it must be a regular file under a size limit, it is
unpickled with ``weights_only=True`` (no code can run), anything the unpickler raises becomes a
CheckpointError, and the card and every tensor are checked before a model is built. Saving is
atomic (write a temp file, then rename), so a failed save leaves the previous checkpoint intact."""

from __future__ import annotations

import datetime
import io
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from .cards import ModelCard
from .data import Split, get_spec
from .errors import CheckpointError
from .evaluation import loss_and_accuracy
from .files import FileRefused, read_regular_file
from .models import build_model, count_parameters
from .training import Run

MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024  # the largest model here is under 2 MB


def make_card(
    result: Run, test_loss: float | None = None, test_accuracy: float | None = None, name: str | None = None
) -> ModelCard:
    return ModelCard(
        dataset=result.config.dataset,
        arch=result.config.arch,
        dropout=result.config.dropout,
        name=name,
        parameters=count_parameters(result.model),
        epochs_trained=result.epochs_trained,
        best_epoch=result.best_epoch,
        status=result.status,
        val_loss=result.best_val_loss if result.best_epoch else None,
        val_accuracy=result.best_val_accuracy,
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        config=result.config,
        history=tuple({k: v for k, v in m.as_dict().items() if k != "run"} for m in result.history),
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )


def card_path(path: Path | str) -> Path:
    return Path(path).with_suffix(".json")


def snapshots_path(path: Path | str) -> Path:
    return Path(path).with_suffix(".epochs.pt")


def delete_checkpoint(path: Path | str) -> None:
    """The weights, their card and their epoch snapshots, whichever exist."""
    for file in (Path(path), card_path(path), snapshots_path(path)):
        file.unlink(missing_ok=True)


def atomic_write(path: Path, write) -> None:
    """Write through ``write(file)`` to a temp file beside ``path``, then rename it into place.
    CheckpointError when the disk refuses (full, read-only): torch reports that as RuntimeError."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "the disk refused the write"
        raise CheckpointError(
            f"The model could not be saved ({reason}). The server's disk may be full or read-only; tell your teacher."
        ) from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def save_checkpoint(path: Path | str, model: nn.Module, card: ModelCard) -> Path:
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    values = card.as_dict()
    atomic_write(path, lambda f: torch.save({"card": values, "state_dict": state}, f))
    atomic_write(card_path(path), lambda f: f.write(json.dumps(values, indent=2).encode()))
    return path


def read_torch_file(path: Path | str) -> object:
    """What a ``.pt`` file holds, unpickled without running code; CheckpointError for anything
    else: not a regular file, too large, not a torch file, or a pickle that names code."""
    try:
        data = read_regular_file(path, MAX_CHECKPOINT_BYTES)
    except FileRefused as exc:
        raise CheckpointError(str(exc)) from None
    buffer = io.BytesIO(data)
    try:
        return torch.load(buffer, map_location="cpu", weights_only=True)
    except Exception as exc:
        if "Unsupported global" in str(exc):  # the pickle names a function or class to call
            raise CheckpointError(
                "It was refused: it holds more than weights (it could run code), so it is not loaded."
            ) from None
        raise CheckpointError("It is not a readable checkpoint (corrupt or truncated).") from None


def check_state_dict(state: object, model: nn.Module) -> dict[str, torch.Tensor]:
    """``state`` if it is exactly the weights ``model`` expects, all finite; CheckpointError otherwise."""
    expected = model.state_dict()
    if not isinstance(state, dict) or set(state) != set(expected):
        raise CheckpointError("Its weights are not those of the model its card names.")
    for key, value in state.items():
        want = expected[key]
        if (
            not isinstance(value, torch.Tensor)
            or value.shape != want.shape
            or value.dtype.is_complex
            or value.is_floating_point() != want.is_floating_point()
        ):
            raise CheckpointError("Its weights are not those of the model its card names.")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError("Some of its weights are not numbers (it was saved from a diverged run).")
    return state


def model_for_card(card: ModelCard) -> nn.Module:
    """An untrained model of the card's architecture, dropout and dataset normalisation."""
    spec = get_spec(card.dataset)
    return build_model(card.arch, card.dropout, spec.mean, spec.std)


def load_checkpoint(path: Path | str, device: torch.device | str = "cpu") -> tuple[nn.Module, ModelCard]:
    """The model (eval mode, on ``device``) and its checked card; CheckpointError with a reason
    otherwise. The reason never names the path: callers say which model they meant."""
    blob = read_torch_file(path)
    if not isinstance(blob, dict) or "card" not in blob or "state_dict" not in blob:
        raise CheckpointError("It is not an mnistcore checkpoint.")
    card = ModelCard.from_dict(blob["card"])
    model = model_for_card(card)
    state = check_state_dict(blob["state_dict"], model)
    try:
        model.load_state_dict(state)
    except Exception as exc:
        raise CheckpointError("Its weights are not those of the model its card names.") from exc
    return model.to(device).eval(), card


def read_card(path: Path | str) -> ModelCard:
    """The checked card of a checkpoint whose weights fit it (the whole file is checked)."""
    return load_checkpoint(path)[1]


def save_run(result: Run, path: Path | str, test: Split, name: str | None = None) -> ModelCard:
    """Save a finished run's best weights, then score them on the test split and add the score
    to the card. The weights are saved first, so nothing the test split does can lose the run."""
    card = make_card(result, name=name or Path(path).stem)
    save_checkpoint(path, result.model, card)
    loss, accuracy = loss_and_accuracy(result.model, test.images, test.labels)
    card = replace(card, test_loss=loss, test_accuracy=accuracy)
    save_checkpoint(path, result.model, card)
    return card
