"""The dataset explorer's numbers and pictures: class counts per split, each class's mean
image, and pages of samples of one class."""

from __future__ import annotations

import numpy as np
import torch

from .data import SPLITS, get_spec, load_split


def class_counts(dataset: str) -> dict[str, np.ndarray]:
    """How many images of each class are in the train, validation and test splits."""
    classes = len(get_spec(dataset).classes)
    return {split: torch.bincount(load_split(dataset, split).labels, minlength=classes).numpy() for split in SPLITS}


def mean_images(dataset: str, split: str = "train") -> np.ndarray:
    """(10, 28, 28) in [0, 1]: the average image of each class."""
    data = load_split(dataset, split)
    classes = len(get_spec(dataset).classes)
    sums = torch.zeros(classes, 28 * 28, dtype=torch.float64)
    sums.index_add_(0, data.labels, data.images.flatten(1).double())
    counts = torch.bincount(data.labels, minlength=classes).clamp(min=1)
    return (sums / counts[:, None] / 255).reshape(classes, 28, 28).float().numpy()


def class_samples(
    dataset: str, split: str, label: int, count: int = 40, page: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """One page of a class's images, (count, 28, 28) in [0, 1], and their indices in the split.
    Pages wrap around, so "more" never runs out."""
    data = load_split(dataset, split)
    index = (data.labels == label).nonzero().flatten()
    if len(index) == 0:
        return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64)
    chosen = index[(torch.arange(count) + page * count) % len(index)][: min(count, len(index))]
    return (data.images[chosen].float() / 255).numpy(), chosen.numpy()
