"""The Train page's settings: the ready-made experiments, the choices the class may make, and
the form that turns what the widgets hold into the runs to train."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from .data import TRAIN_SIZE, get_spec
from .models import ARCH_NAMES
from .training import TrainConfig

LEARNING_RATES = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1.0, 10.0)
BATCH_SIZES = (16, 32, 64, 128, 256)
TRAIN_SIZES = (500, 1000, 2000, 5000, 10_000, 20_000, TRAIN_SIZE)
MAX_EPOCHS = 60
MAX_SEED = 10_000
DROPOUT_RANGE, DROPOUT_STEP = (0.05, 0.7), 0.05  # for the twin with dropout


@dataclass(frozen=True)
class Preset:
    name: str
    config: TrainConfig  # the run without dropout
    dropout: float  # its twin's
    what_to_see: str


PRESETS = {
    p.name: p
    for p in (
        Preset(
            "Seed experiment",
            TrainConfig(),
            0.2,
            "The tutorial's experiment: the layered network learns all 50,000 clothes pictures for 30 epochs. "
            "Without dropout the validation loss is lowest around epoch 8-11, then climbs while the training "
            "loss keeps falling; with dropout 0.2 it stays much flatter.",
        ),
        Preset(
            "Quick overfit",
            TrainConfig(train_size=1000, epochs=25, batch_size=32),
            0.5,
            "Only 1,000 training pictures, few enough to learn by heart: within seconds the validation loss "
            "of the run without dropout turns up while its training loss heads to zero. Dropout 0.5 holds it back.",
        ),
    )
}
FIRST_PRESET = "Quick overfit"


@dataclass(frozen=True)
class TrainForm:
    """The settings as the Train page's widgets hold them: every one has a value (all the
    training images, not None; patience 0 for off), and ``dropout`` is the twin's."""

    dataset: str
    arch: str
    dropout: float
    epochs: int
    lr: float
    batch_size: int
    train_size: int
    patience: int
    seed: int
    augment: bool

    @classmethod
    def from_preset(cls, preset: Preset) -> TrainForm:
        return cls.from_configs([preset.config], preset.dropout)

    @classmethod
    def from_values(cls, values: dict) -> TrainForm:
        """From widget values keyed by field name (others are ignored)."""
        return cls(**{f.name: values[f.name] for f in fields(cls)})

    def as_values(self) -> dict:
        return asdict(self)

    @property
    def title(self) -> str:
        """What the run trains, as its heading says: "Layered network on Fashion-MNIST, 1,000
        images, 25 epochs"."""
        name = ARCH_NAMES.get(self.arch, str(self.arch)).capitalize()
        epochs = "1 epoch" if self.epochs == 1 else f"{self.epochs} epochs"
        return f"{name} on {get_spec(self.dataset).title}, {self.train_size:,} images, {epochs}"

    def preset(self) -> str | None:
        """The name of the preset these settings are, or None when they are the student's own.
        (A slider's 0.2 can arrive as 0.20000000000000004.)"""
        mine = {k: round(v, 9) if isinstance(v, float) else v for k, v in self.as_values().items()}
        for name, preset in PRESETS.items():
            theirs = {
                k: round(v, 9) if isinstance(v, float) else v
                for k, v in TrainForm.from_preset(preset).as_values().items()
            }
            if mine == theirs:
                return name
        return None

    @classmethod
    def from_configs(cls, configs: list[TrainConfig], dropout: float | None = None) -> TrainForm:
        """The form that submitted ``configs`` (a run without dropout and perhaps its twin);
        ``dropout`` for the twin when there was none."""
        c = configs[0]
        twin = configs[1].dropout if len(configs) > 1 else dropout
        return cls(
            dataset=c.dataset,
            arch=c.arch,
            dropout=twin if twin is not None else PRESETS[FIRST_PRESET].dropout,
            epochs=c.epochs,
            lr=c.lr,
            batch_size=c.batch_size,
            train_size=c.train_size or TRAIN_SIZE,
            patience=c.patience or 0,
            seed=c.seed,
            augment=c.augment,
        )

    def configs(self, with_dropout: bool = True) -> list[TrainConfig]:
        """The run without dropout, and its twin with dropout; ValueError or DatasetError (from
        TrainConfig) when a value cannot train, whatever the browser sent."""
        base = TrainConfig(
            dataset=self.dataset,
            arch=self.arch,
            dropout=0.0,
            epochs=self.epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            train_size=None if self.train_size == TRAIN_SIZE else self.train_size,
            patience=self.patience or None,
            seed=self.seed,
            augment=self.augment,
        )
        return [base, replace(base, dropout=self.dropout)] if with_dropout else [base]


def with_seeds(form: TrainForm, count: int = 3) -> list[TrainForm]:
    """``form`` again with ``count`` seeds, its own first: the same experiment with other
    starting weights and batch orders, to see how much of a result is luck."""
    first = min(form.seed, MAX_SEED - count + 1)
    return [replace(form, seed=first + i) for i in range(count)]


def _rounded(form: TrainForm) -> dict:
    return {k: round(v, 9) if isinstance(v, float) else v for k, v in form.as_values().items()}
