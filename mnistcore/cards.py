"""A model card: what a checkpoint is (dataset, architecture, dropout), how it was trained and
how well it did. It travels inside the ``.pt`` file and is checked field by field whenever one
is read: a card is data from a file, and the pages, the report and the model builder only ever
see one that passed."""

from __future__ import annotations

import datetime
import math
from dataclasses import asdict, dataclass, field, replace

from .data import DATASETS
from .errors import CheckpointError
from .models import ARCH_NAMES, ARCHS
from .status import Status
from .training import TrainConfig, config_from_dict

FORMAT_VERSION = 1
ENDED = (Status.COMPLETED, Status.EARLY_STOPPED, Status.STOPPED, Status.OUT_OF_TIME, Status.DIVERGED)
EPOCH_FIELDS = {
    "epoch": int,
    "train_loss": float,
    "val_loss": float,
    "val_accuracy": float,
    "seconds": float,
    "is_best": bool,
}


def _fail(what: str) -> CheckpointError:
    return CheckpointError(f"Its model card is not valid: {what}.")


def _int(value, what: str, low: int = 0, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 10**12:
        raise _fail(f"{what} must be a whole number of at least {low}")
    return value


def _float(value, what: str, low: float = -math.inf, high: float = math.inf, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise _fail(f"{what} must be a number from {low:g} to {high:g}")
    return float(value)


def _text(value, what: str, optional: bool = False, limit: int = 200) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise _fail(f"{what} must be text of at most {limit} characters")
    return value


def _timestamp(value) -> str | None:
    if value is None:
        return None
    try:
        return datetime.datetime.fromisoformat(_text(value, "created", limit=40)).isoformat(timespec="seconds")
    except ValueError:
        raise _fail("created must be a date and time") from None


def _epoch_row(row) -> dict:
    if not isinstance(row, dict):
        raise _fail("each history row must be a mapping")
    clean = {}
    for name, kind in EPOCH_FIELDS.items():
        value = row.get(name)
        if kind is int:
            clean[name] = _int(value, f"history {name}", low=1)
        elif kind is bool:
            if not isinstance(value, bool):
                raise _fail(f"history {name} must be true or false")
            clean[name] = value
        else:
            clean[name] = _float(value, f"history {name}", low=0.0)
    return clean


@dataclass(frozen=True)
class ModelCard:
    dataset: str
    arch: str
    dropout: float
    name: str | None = None
    parameters: int | None = None
    epochs_trained: int = 0
    best_epoch: int | None = None
    status: Status = Status.COMPLETED
    val_loss: float | None = None
    val_accuracy: float | None = None
    test_loss: float | None = None
    test_accuracy: float | None = None
    config: TrainConfig | None = None
    history: tuple[dict, ...] = field(default_factory=tuple)  # rows as EPOCH_FIELDS, checked
    created: str | None = None
    format_version: int = FORMAT_VERSION

    @classmethod
    def from_dict(cls, raw: object) -> ModelCard:
        """A checked card, or CheckpointError naming the first field that is wrong."""
        if not isinstance(raw, dict):
            raise _fail("it is not a mapping")
        if raw.get("dataset") not in DATASETS:
            raise _fail(f"dataset must be one of {', '.join(DATASETS)}")
        if raw.get("arch") not in ARCHS:
            raise _fail(f"arch must be one of {', '.join(ARCHS)}")
        config = raw.get("config")
        if config is not None:
            if not isinstance(config, dict):
                raise _fail("config must be a mapping")
            try:
                config = config_from_dict(config)
            except Exception as exc:
                raise _fail(f"config: {exc}") from None
        history = raw.get("history") or []
        if not isinstance(history, list) or len(history) > 500:
            raise _fail("history must be a list of at most 500 epochs")
        card = cls(
            dataset=raw["dataset"],
            arch=raw["arch"],
            dropout=_float(raw.get("dropout", 0.0), "dropout", 0.0, 0.99),
            name=_text(raw.get("name"), "name", optional=True, limit=80),
            parameters=_int(raw.get("parameters"), "parameters", optional=True),
            epochs_trained=_int(raw.get("epochs_trained", 0), "epochs_trained"),
            best_epoch=_int(raw.get("best_epoch"), "best_epoch", low=1, optional=True),
            status=raw.get("status", Status.COMPLETED),  # checked below, made a Status there
            val_loss=_float(raw.get("val_loss"), "val_loss", 0.0, optional=True),
            val_accuracy=_float(raw.get("val_accuracy"), "val_accuracy", 0.0, 1.0, optional=True),
            test_loss=_float(raw.get("test_loss"), "test_loss", 0.0, optional=True),
            test_accuracy=_float(raw.get("test_accuracy"), "test_accuracy", 0.0, 1.0, optional=True),
            config=config,
            history=tuple(_epoch_row(row) for row in history),
            created=_timestamp(raw.get("created")),
            format_version=_int(raw.get("format_version", FORMAT_VERSION), "format_version", low=1),
        )
        if card.status not in ENDED:
            raise _fail(f"status must be one of {', '.join(ENDED)}")
        card = replace(card, status=Status(card.status))
        if config is not None and (config.dataset, config.arch, config.dropout) != (
            card.dataset,
            card.arch,
            card.dropout,
        ):
            raise _fail("its config names another dataset, architecture or dropout than the card")
        return card

    def as_dict(self) -> dict:
        """Plain values only (str, not Status): a checkpoint holding a class would not load."""
        values = asdict(self)  # the config too, as a plain mapping
        values["status"] = str(self.status)
        values["history"] = list(values["history"])
        return values

    @property
    def label(self) -> str:
        """The network and its dropout: "convolutional network, with dropout 0.3"."""
        dropout = f"with dropout {self.dropout:g}" if self.dropout else "without dropout"
        return f"{ARCH_NAMES[self.arch]}, {dropout}"
