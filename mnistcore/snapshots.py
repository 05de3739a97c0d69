"""Per-epoch snapshots of a small model's weights, so the Inside page can replay how its answer
for one drawing changed from epoch to epoch. Half precision (0.5 MB an epoch for the MLP), at
most 30 a run, kept beside the run's checkpoint as ``<name>.epochs.pt``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .cards import ModelCard
from .checkpoints import atomic_write, check_state_dict, model_for_card, read_torch_file, snapshots_path
from .errors import CheckpointError

SNAPSHOT_ARCHS = ("logreg", "mlp")  # the CNN's snapshots would be as big, for a less telling replay
MAX_SNAPSHOTS = 30

Snapshots = dict[int, dict[str, torch.Tensor]]  # epoch -> state dict


def wants_snapshot(arch: str, epoch: int, epochs: int) -> bool:
    """Every epoch of a run of up to 30, evenly spaced ones of a longer run."""
    return arch in SNAPSHOT_ARCHS and epoch % math.ceil(epochs / MAX_SNAPSHOTS) == 0


def take_snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu().clone()
        for k, v in model.state_dict().items()
    }


def save_snapshots(checkpoint: Path | str, snapshots: Snapshots) -> None:
    atomic_write(snapshots_path(checkpoint), lambda f: torch.save(snapshots, f))


def load_snapshots(checkpoint: Path | str, card: ModelCard) -> Snapshots:
    """The run's snapshots, or {} when it kept none; CheckpointError when the file is not
    snapshots of the model ``card`` describes."""
    path = snapshots_path(checkpoint)
    if not path.exists():
        return {}
    try:
        snapshots = read_torch_file(path)
        if not isinstance(snapshots, dict) or not 0 < len(snapshots) <= 500:
            raise CheckpointError("not a mapping of epochs")
        model = model_for_card(card)
        for epoch, state in snapshots.items():
            if not isinstance(epoch, int) or isinstance(epoch, bool) or not 1 <= epoch <= 500:
                raise CheckpointError("not a mapping of epochs")
            check_state_dict(state, model)
    except CheckpointError:
        raise CheckpointError(
            "The saved epoch snapshots of this model are not readable, so there is no replay."
        ) from None
    return snapshots


@torch.inference_mode()
def replay(card: ModelCard, snapshots: Snapshots, x: torch.Tensor) -> tuple[list[int], np.ndarray]:
    """The epochs and, for each, the model's ten class probabilities for ``x`` (1, 1, 28, 28).
    ``snapshots`` holds at least one epoch, as ``load_snapshots`` gives them."""
    model = model_for_card(card).eval()
    epochs, rows = sorted(snapshots), []
    for epoch in epochs:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in snapshots[epoch].items()})
        rows.append(F.softmax(model(x), dim=1)[0])
    return epochs, torch.stack(rows).numpy()
