"""A model's answer for one input, its ten class probabilities, the same for the canvas, an
upload, a test image and the CLI's ``predict``; and test images to show a model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .data import get_spec, load_split
from .evaluation import as_input, predict_probabilities

UNSURE_BELOW = 0.6


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

    @property
    def unsure(self) -> bool:
        """Less than this much on its answer: worth saying so, whatever the answer is."""
        return self.confidence < UNSURE_BELOW


def classify(model: nn.Module, x: torch.Tensor, dataset: str) -> Prediction:
    """x: (1, 1, 28, 28) in [0, 1], as from ``prepare_input`` or a test image."""
    probabilities = predict_probabilities(model, x)[0].numpy()
    return Prediction(probabilities, get_spec(dataset).classes)


def pick_test_image(dataset: str, label: int | None = None, nth: int = 0) -> tuple[torch.Tensor, int]:
    """A test-split image, (1, 1, 28, 28) in [0, 1], and its label: the ``nth`` pick at random,
    from one class when ``label`` is given. The same ``nth`` gives the same image."""
    test = load_split(dataset, "test")
    pool = torch.arange(len(test)) if label is None else (test.labels == label).nonzero().flatten()
    i = pool[torch.randint(len(pool), (1,), generator=torch.Generator().manual_seed(nth))]
    return as_input(test.images[i]), int(test.labels[i])
