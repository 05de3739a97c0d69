"""Fine-tuning a digit model on the class's own handwriting: the trained model goes on learning
from three quarters of the class's drawings, through the one trainer, and is measured on the
quarter it never sees, before and after. A class keeps tens or hundreds of drawings, not
50,000: the sizes are part of the result, so they are reported with it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from .data import Split
from .errors import LimitError
from .evaluation import evaluate
from .handwriting import HELD_OUT_EVERY, Handwriting
from .training import Event, Finished, TrainConfig, TrainData, train

MIN_TRAIN, MIN_HELD_OUT = 20, 5  # fewer than this teaches, or measures, nothing
# It trains in the page's own server process, not a queued worker: a class's set is small,
# and the newest few thousand keep one student's fine-tuning to seconds.
MAX_TRAIN = 2000
EPOCHS = 10


@dataclass(frozen=True)
class Measured:
    """Accuracy on the held-out drawings, with how many there were."""

    accuracy: float
    right: int
    count: int


@dataclass(frozen=True)
class FineTuned:
    trained_on: int  # drawings
    before: Measured
    after: Measured
    model: nn.Module  # the best epoch's weights, by the held-out loss


def _measure(model: nn.Module, split: Split) -> Measured:
    result = evaluate(model, split.images, split.labels)
    return Measured(result.accuracy, len(split) - result.wrong, len(split))


def class_splits(handwriting: Handwriting) -> tuple[Split, Split]:
    """The class's drawings to learn from and those held out; LimitError, saying how many more
    are needed, when either is too small."""
    train_split, held_out = (Split(*handwriting.as_tensors(s)) for s in ("train", "held-out"))
    if len(train_split) < MIN_TRAIN or len(held_out) < MIN_HELD_OUT:
        # One drawing in HELD_OUT_EVERY is held out: the smallest class set that has enough of both.
        need = next(
            n
            for n in itertools.count(MIN_TRAIN)
            if n // HELD_OUT_EVERY >= MIN_HELD_OUT and n - n // HELD_OUT_EVERY >= MIN_TRAIN
        )
        raise LimitError(
            f"The class has kept {len(train_split) + len(held_out)} drawings; fine-tuning needs about {need}: "
            f"at least {MIN_TRAIN} to learn from and {MIN_HELD_OUT} held out to measure it."
        )
    if len(train_split) > MAX_TRAIN:
        train_split = train_split.subset(torch.arange(len(train_split) - MAX_TRAIN, len(train_split)))
    return train_split, held_out


def fine_tune(
    model: nn.Module, arch: str, dropout: float, handwriting: Handwriting, epochs: int = EPOCHS
) -> Iterator[Event | FineTuned]:
    """The trainer's events while ``model`` (a digit model: ``arch`` and ``dropout`` as its card
    says) learns from the class's
    drawings, then a ``FineTuned`` with the held-out accuracy before and after. The learning
    rate is a tenth of training's: the model should adapt to the class, not forget MNIST."""
    train_split, held_out = class_splits(handwriting)
    before = _measure(model, held_out)
    config = TrainConfig(dataset="mnist", arch=arch, dropout=dropout, epochs=epochs, batch_size=16, lr=0.0003)
    finished = None
    for event in train(config, TrainData(train_split, held_out), start_from=model.state_dict()):
        yield event
        if isinstance(event, Finished):
            finished = event
    tuned = finished.results[0].model
    yield FineTuned(len(train_split), before, _measure(tuned, held_out), tuned)
