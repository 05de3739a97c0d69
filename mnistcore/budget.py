"""How long a run will take on the class's server, said before it starts, so a student sees
"about 3 minutes" and a run far beyond the class's limit is refused instead of holding the only
trainer for an hour. A rough model, on purpose: each optimizer step costs a fixed overhead plus
a cost per image, each model of a lockstep pair pays its own, augmentation is paid once per
batch, and every epoch ends with the 10,000 validation images.

The figures are seconds on this project's 2-core reference machine, with the 2 threads a run
gets there, as a worker process sharing the machine with the server;
``benchmarks/run_estimate.py`` measures real runs against them."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .data import TRAIN_SIZE, VALIDATION_SIZE
from .training import TrainConfig

STEP_SECONDS = {"logreg": 0.0004, "mlp": 0.0015, "cnn": 0.006}  # fixed cost of one step, per model
IMAGE_SECONDS = {"logreg": 3e-6, "mlp": 1.3e-5, "cnn": 2.6e-4}  # per training image, per model
VALIDATION_IMAGE_SECONDS = {"logreg": 1.5e-6, "mlp": 5e-6, "cnn": 1.2e-4}
AUGMENT_STEP_SECONDS, AUGMENT_IMAGE_SECONDS = 0.0003, 2e-5  # once per batch, shared by the models
START_SECONDS = 1.5  # the batches taken from the warm worker's data, and the test evaluation at the end
REFERENCE_THREADS = 2


def epoch_seconds(configs: Sequence[TrainConfig], threads: int = REFERENCE_THREADS) -> float:
    """One lockstep epoch of these runs (they share dataset, batches and augmentation)."""
    first = configs[0]
    images = first.train_size or TRAIN_SIZE
    steps = math.ceil(images / first.batch_size)
    models = sum(
        (
            steps * STEP_SECONDS[c.arch]
            + images * IMAGE_SECONDS[c.arch]
            + VALIDATION_SIZE * VALIDATION_IMAGE_SECONDS[c.arch]
        )
        * _thread_scale(c.arch, threads)
        for c in configs
    )
    shared = steps * AUGMENT_STEP_SECONDS + images * AUGMENT_IMAGE_SECONDS if first.augment else 0.0
    return models + shared


def _thread_scale(arch: str, threads: int) -> float:
    # The convolutions' work divides among threads; the dense nets' small products hardly do.
    return REFERENCE_THREADS / max(1, threads) if arch == "cnn" else 1.0


def estimate_seconds(configs: Sequence[TrainConfig], threads: int = REFERENCE_THREADS) -> float:
    """The whole run, every epoch trained (early stopping can only make it shorter)."""
    return START_SECONDS + configs[0].epochs * epoch_seconds(configs, threads)


def describe(seconds: float) -> str:
    """'about 40 seconds', 'about 3 minutes', 'about 1 hour 20 minutes'."""
    if seconds < 90:
        return f"about {max(10, round(seconds, -1)):.0f} seconds"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} minutes"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} hour{'s' if hours > 1 else ''}" + (f" {minutes} minutes" if minutes else "")
