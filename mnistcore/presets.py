"""Ready-made experiments for the Train page. Each is a TrainConfig plus the dropout its
"with dropout" twin uses."""

from __future__ import annotations

from dataclasses import dataclass

from .training import TrainConfig


@dataclass(frozen=True)
class Preset:
    name: str
    config: TrainConfig  # the run without dropout
    dropout: float  # the twin's
    what_to_see: str


PRESETS = {p.name: p for p in (
    Preset("Seed experiment", TrainConfig(), 0.2,
           "The tutorial's experiment: the 784-256-128-64-10 MLP on all 50,000 Fashion-MNIST training "
           "images for 30 epochs. Without dropout the validation loss bottoms out around epoch 8-11 "
           "and climbs while the training loss keeps falling; with dropout 0.2 it stays much flatter."),
    Preset("Quick overfit", TrainConfig(train_size=1000, epochs=25, batch_size=32), 0.5,
           "Only 1,000 training images: the MLP can memorise them, so within a few seconds the "
           "validation loss of the run without dropout turns up while its training loss heads to "
           "zero. Dropout 0.5 slows the memorising down."),
)}
