"""From what a user shows a model to its ten class probabilities: the same path for the
canvas, an uploaded file, a test image, and the CLI's ``predict``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from .data import get_spec, load_split
from .drawing import prepare_drawing
from .evaluation import as_input, predict_probabilities
from .images import prepare_photo


@dataclass(frozen=True)
class Prediction:
    probabilities: np.ndarray  # (10,), sums to one
    classes: tuple[str, ...]

    @property
    def index(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def label(self) -> str:
        return self.classes[self.index]

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())


def prepare_input(image: np.ndarray | Image.Image, dataset: str) -> torch.Tensor | None:
    """The model's (1, 1, 28, 28) input in [0, 1], or None when there is nothing to read.
    Digits follow MNIST's recipe (crop, 20x20 box, centre of mass); clothes Fashion-MNIST's."""
    if dataset == "mnist":
        return prepare_drawing(image)
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    return prepare_photo(image)


def classify(model: nn.Module, x: torch.Tensor, dataset: str) -> Prediction:
    """x: (1, 1, 28, 28) in [0, 1], as from ``prepare_input`` or a test image."""
    probabilities = predict_probabilities(model, x)[0].numpy()
    return Prediction(probabilities, get_spec(dataset).classes)


def pick_test_image(dataset: str, label: int | None = None, draw: int = 0) -> tuple[torch.Tensor, int]:
    """A test-split image, (1, 1, 28, 28) in [0, 1], and its label: the ``draw``-th pick at
    random, from one class when ``label`` is given. The same draw gives the same image."""
    test = load_split(dataset, "test")
    pool = torch.arange(len(test)) if label is None else (test.labels == label).nonzero().flatten()
    i = pool[torch.randint(len(pool), (1,), generator=torch.Generator().manual_seed(draw))]
    return as_input(test.images[i]), int(test.labels[i])
