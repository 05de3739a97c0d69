"""The three architectures of the lesson. Each takes images in [0, 1] of shape (N, 1, 28, 28),
normalises them itself (so inference can never forget the training normalisation), and returns
logits. Layers are named attributes (``fc1``, ``conv1``, ...) so the insight pages can show
them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ARCHS = ("logreg", "mlp", "cnn")
# Plain words first, the technical name second: the class reads these.
ARCH_TITLES = {
    "logreg": "Simple one-layer model (logistic regression)",
    "mlp": "Layered network (MLP 784-256-128-64-10)",
    "cnn": "Convolutional network (CNN)",
}
ARCH_NAMES = {"logreg": "simple one-layer model", "mlp": "layered network", "cnn": "convolutional network"}
ARCH_SUMMARIES = {
    "logreg": "one weight per pixel and class: ten stencils, the best fit wins",
    "mlp": "784 pixels into layers of 256, 128 and 64 units, then 10 answers; dropout after each hidden layer",
    "cnn": "5x5 pattern detectors slid over the picture in two rounds, then a small layered network",
}


class Classifier(nn.Module):
    def __init__(self, dropout: float, mean: float, std: float):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.dropout = dropout
        self.generator: torch.Generator | None = None  # dropout masks; None: torch's global one
        self.mc_dropout = False  # dropout on in eval mode too: Monte-Carlo dropout
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def drop(self, x: torch.Tensor) -> torch.Tensor:
        if not ((self.training or self.mc_dropout) and self.dropout):
            return x
        # Not F.dropout: it can only draw from the global generator, so a model's masks would
        # depend on whatever else draws random numbers, a lockstep partner included.
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.dropout
        return x * keep / (1.0 - self.dropout)


class LogReg(Classifier):
    def __init__(self, dropout=0.0, mean=0.0, std=1.0):
        super().__init__(dropout, mean, std)
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(self.drop(self.normalize(x).flatten(1)))


class MLP(Classifier):
    """The tutorial's 784-256-128-64-10 network, dropout after each hidden layer."""

    def __init__(self, dropout=0.0, mean=0.0, std=1.0):
        super().__init__(dropout, mean, std)
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 64)
        self.fc4 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.normalize(x).flatten(1)
        x = self.drop(F.relu(self.fc1(x)))
        x = self.drop(F.relu(self.fc2(x)))
        x = self.drop(F.relu(self.fc3(x)))
        return self.fc4(x)


class CNN(Classifier):
    """Two 5x5 conv blocks and a small head: what one would use in practice."""

    def __init__(self, dropout=0.0, mean=0.0, std=1.0):
        super().__init__(dropout, mean, std)
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def features(self, x):
        """The two conv blocks' outputs, (N, 16, 14, 14) and (N, 32, 7, 7)."""
        a = F.max_pool2d(F.relu(self.bn1(self.conv1(self.normalize(x)))), 2)
        b = F.max_pool2d(F.relu(self.bn2(self.conv2(a))), 2)
        return a, b

    def forward(self, x):
        x = self.features(x)[1].flatten(1)
        return self.fc2(self.drop(F.relu(self.fc1(x))))


BUILDERS = {"logreg": LogReg, "mlp": MLP, "cnn": CNN}


def build_model(arch: str, dropout: float = 0.0, mean: float = 0.0, std: float = 1.0) -> Classifier:
    if arch not in BUILDERS:
        raise ValueError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHS)}")
    return BUILDERS[arch](dropout, mean, std)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
