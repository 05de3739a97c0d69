"""The three architectures of the lesson. Each takes images in [0, 1] of shape (N, 1, 28, 28),
normalises them itself (so inference can never forget the training normalisation), and returns
logits."""

from __future__ import annotations

import torch
from torch import nn

ARCHS = ("logreg", "mlp", "cnn")


class Normalize(nn.Module):
    def __init__(self, mean: float, std: float):
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def logreg(dropout: float = 0.0) -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(784, 10))


def mlp(dropout: float = 0.0) -> nn.Sequential:
    # The seeds' 784-256-128-64-10 network; Dropout(0) is the identity, kept so that the
    # state_dict keys are the same with and without dropout.
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(256, 128), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(128, 64), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(64, 10),
    )


def cnn(dropout: float = 0.0) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),  # 14x14
        nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),  # 7x7
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(128, 10),
    )


BUILDERS = {"logreg": logreg, "mlp": mlp, "cnn": cnn}


def build_model(arch: str, dropout: float = 0.0, mean: float = 0.0, std: float = 1.0) -> nn.Sequential:
    if arch not in BUILDERS:
        raise ValueError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHS)}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return nn.Sequential(Normalize(mean, std), BUILDERS[arch](dropout))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
