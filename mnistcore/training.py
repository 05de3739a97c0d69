"""The one training loop. ``train`` is a generator: it yields ``Progress`` within an epoch,
``EpochEnd`` after each epoch and a final ``Finished``; the CLI prints them, the app charts
them.

Several configs train in lockstep: every model sees the very same batches in the same order
(and the same augmentation), so "with vs without dropout" differs in dropout only.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from .augment import augment
from .data import TRAIN_SIZE, Split, get_spec, load_split
from .device import pick_device
from .evaluation import as_input, loss_and_accuracy
from .models import ARCHS, build_model
from .stacked import StackedRuns, can_stack
from .status import Status


@dataclass(frozen=True)
class TrainConfig:
    """Defaults are the tutorial's this lab grew from: the Fashion-MNIST MLP, Adam 0.003,
    batch 64, 30 epochs."""

    dataset: str = "fashion"
    arch: str = "mlp"
    dropout: float = 0.0
    epochs: int = 30
    batch_size: int = 64
    lr: float = 0.003
    train_size: int | None = None  # None: all the training images
    patience: int | None = None  # None: train every epoch (the best epoch is still kept)
    seed: int = 0
    augment: bool = False
    cosine: bool = False  # anneal the learning rate to zero over the epochs (for final models)

    def __post_init__(self):
        # A config also arrives from the run history and from model cards: check the types too
        # (True is an int to Python, "5" is not a number).
        whole = all(
            isinstance(v, int) and not isinstance(v, bool)
            for v in (
                self.epochs,
                self.batch_size,
                self.seed,
                0 if self.train_size is None else self.train_size,
                1 if self.patience is None else self.patience,
            )
        )
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (self.dropout, self.lr))
        flags = isinstance(self.augment, bool) and isinstance(self.cosine, bool)
        if not (whole and numbers and flags and isinstance(self.dataset, str) and isinstance(self.arch, str)):
            raise ValueError("a training setting has the wrong type")
        get_spec(self.dataset)
        checks = [
            (self.arch in ARCHS, f"arch must be one of {', '.join(ARCHS)}"),
            (0.0 <= self.dropout < 1.0, "dropout must be at least 0 and below 1"),
            (1 <= self.epochs <= 500, "epochs must be between 1 and 500"),
            (1 <= self.batch_size <= 8192, "batch size must be between 1 and 8192"),
            (0.0 < self.lr <= 100.0 and math.isfinite(self.lr), "learning rate must be above 0 and at most 100"),
            (
                self.train_size is None or 1 <= self.train_size <= TRAIN_SIZE,
                f"training-set size must be between 1 and {TRAIN_SIZE}",
            ),
            (self.patience is None or self.patience >= 1, "patience must be at least 1"),
            (0 <= self.seed < 2**63, "seed must be a non-negative integer"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def label(self) -> str:
        """Which of a pair it is: "with dropout 0.5" or "without dropout"."""
        return f"with dropout {self.dropout:g}" if self.dropout else "without dropout"


# A mean cross-entropy this far above chance (ln 10 = 2.3) means the weights have blown up;
# nothing learns back from there, so the run is stopped as diverged.
EXPLODED_LOSS = 100.0

# Fields that decide which batches a model sees: lockstep runs must agree on them.
SHARED_FIELDS = ("dataset", "epochs", "batch_size", "train_size", "seed", "augment")


@dataclass(frozen=True)
class TrainData:
    train: Split
    val: Split


def load_train_data(config: TrainConfig) -> TrainData:
    train = load_split(config.dataset, "train")
    if config.train_size is not None:
        train = train.subset(torch.arange(config.train_size))  # the split is already shuffled
    return TrainData(train, load_split(config.dataset, "val"))


@dataclass(frozen=True)
class Progress:
    epoch: int
    batch: int
    batches: int


@dataclass(frozen=True)
class EpochMetrics:
    run: int  # index into the configs
    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    seconds: float
    is_best: bool

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    metrics: tuple[EpochMetrics, ...]
    models: tuple[nn.Module, ...]  # every run's model as it is now (index = EpochMetrics.run), to snapshot


class Run:
    """One model's training: its model, optimizer and learning-rate schedule, the best epoch's
    weights so far, the epoch's running loss, and how it stands. ``train`` steps several of
    these in lockstep; once finished, each holds its result."""

    def __init__(self, index: int, config: TrainConfig, device: torch.device, start_from: dict | None = None):
        spec = get_spec(config.dataset)
        self.index = index  # among the lockstep configs
        self.config = config
        torch.manual_seed(config.seed)  # same seed, same architecture: same initial weights
        self.model = build_model(config.arch, config.dropout, spec.mean, spec.std).to(device)
        if start_from is not None:  # fine-tuning: a trained model's weights, not random ones
            self.model.load_state_dict(start_from)
        # Its own dropout generator: a model's masks do not depend on what trains beside it.
        self.model.generator = torch.Generator(device).manual_seed(config.seed)
        # The fused Adam kernel is a third faster than the default on this 2-core CPU.
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, fused=True)
        self.schedule = (
            torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, config.epochs) if config.cosine else None
        )
        self.best_state = copy.deepcopy(self.model.state_dict())
        self.loss_sum = torch.zeros((), device=device)
        self.status = Status.RUNNING
        self.best_epoch: int | None = None  # None: no epoch finished with a finite validation loss
        self.best_val_loss = math.inf
        self.best_val_accuracy: float | None = None
        self.history: list[EpochMetrics] = []
        self.message = ""

    @property
    def training(self) -> bool:
        return self.status == Status.RUNNING

    @property
    def epochs_trained(self) -> int:
        return len(self.history)

    def mean_loss(self, batches: int) -> float:
        return self.loss_sum.item() / batches

    def diverge(self, epoch: int, loss: float) -> None:
        self.status = Status.DIVERGED
        self.message = (
            f"The run {self.config.label}: the training loss exploded to {loss:.3g} in epoch {epoch}, so "
            f"training stopped. The learning rate {self.config.lr:g} is too high; try a smaller one, "
            f"like 0.003."
        )

    def end_epoch(
        self, epoch: int, val_x: torch.Tensor, val_y: torch.Tensor, batches: int, seconds: float
    ) -> EpochMetrics | None:
        """Validate, keep the weights if they are the best so far, and apply early stopping.
        None when the validation loss is not a number (the run diverged)."""
        if self.schedule is not None:
            self.schedule.step()
        val_loss, val_accuracy = loss_and_accuracy(self.model, val_x, val_y)
        if not math.isfinite(val_loss):
            self.diverge(epoch, val_loss)
            return None
        is_best = val_loss < self.best_val_loss
        if is_best:
            self.best_epoch, self.best_val_loss, self.best_val_accuracy = epoch, val_loss, val_accuracy
            self.best_state = copy.deepcopy(self.model.state_dict())
        metrics = EpochMetrics(self.index, epoch, self.mean_loss(batches), val_loss, val_accuracy, seconds, is_best)
        self.history.append(metrics)
        patience = self.config.patience
        if patience is not None and epoch - self.best_epoch >= patience:
            self.status = Status.EARLY_STOPPED
            self.message = (
                f"The run {self.config.label}: validation loss did not improve for {patience} epochs; "
                f"stopped at epoch {epoch}, kept epoch {self.best_epoch}."
            )
        return metrics

    def finish(self, status: Status) -> None:
        """Back to the best epoch's weights, in eval mode; a run still training takes ``status``."""
        self.model.load_state_dict(self.best_state)
        self.model.eval()
        if self.training:
            self.status = status


@dataclass(frozen=True)
class Finished:
    status: Status  # COMPLETED, STOPPED or DIVERGED
    message: str
    results: tuple[Run, ...]


Event = Progress | EpochEnd | Finished


def _check_lockstep(configs: Sequence[TrainConfig]) -> None:
    if not configs:
        raise ValueError("nothing to train")
    for name in SHARED_FIELDS:
        values = {getattr(c, name) for c in configs}
        if len(values) > 1:
            raise ValueError(f"lockstep runs must share {name}, got {sorted(map(str, values))}")


def _finished(runs: list[Run], status: Status, message: str) -> Finished:
    for run in runs:
        run.finish(status)
    return Finished(status, message, tuple(runs))


def train(
    configs: TrainConfig | Sequence[TrainConfig],
    data: TrainData | None = None,
    stop: threading.Event | None = None,
    device: torch.device | None = None,
    start_from: dict | None = None,
    stacked: bool = True,
) -> Iterator[Event]:
    """Train ``configs`` in lockstep on the same batches, yielding ``Progress`` within each epoch,
    ``EpochEnd`` after it and ``Finished`` last. ``stop`` ends it at the next batch;
    ``start_from``, a state dict of the same architecture, is where every model begins.
    ``stacked=False`` keeps to the plain step even where the stacked one would do."""
    configs = [configs] if isinstance(configs, TrainConfig) else list(configs)
    _check_lockstep(configs)
    first = configs[0]
    device = device or pick_device()
    data = data or load_train_data(first)
    train_x, train_y = data.train.images.to(device), data.train.labels.to(device)
    val_x, val_y = data.val.images.to(device), data.val.labels.to(device)

    runs = [Run(i, config, device, start_from) for i, config in enumerate(configs)]
    batch_order = torch.Generator().manual_seed(first.seed)
    augmentation = torch.Generator().manual_seed(first.seed + 1)
    n, batch_size = len(train_y), first.batch_size
    batches = math.ceil(n / batch_size)
    report_every = max(1, batches // 50)

    for epoch in range(1, first.epochs + 1):
        started = time.perf_counter()
        active = [run for run in runs if run.training]
        for run in active:
            run.model.train()
            run.loss_sum.zero_()
        # Runs that differ only in dropout (the Train page's pair) can take the plain step below
        # for all the models at once, on their weights stacked: the same training in less time
        # (see mnistcore/stacked.py and benchmarks/epoch_speed.py).
        stack = StackedRuns(active) if stacked and can_stack(active) else None
        order = torch.randperm(n, generator=batch_order).to(device)
        for b in range(batches):
            if stop is not None and stop.is_set():
                yield _finished(runs, Status.STOPPED, f"Stopped by the user in epoch {epoch}.")
                return
            index = order[b * batch_size : (b + 1) * batch_size]
            x, y = as_input(train_x.index_select(0, index)), train_y.index_select(0, index)
            if first.augment:
                x = augment(x, augmentation)

            if stack is not None:
                stack.step(x, y)
            else:
                # The step, for each model on the very same batch:
                for run in active:
                    run.optimizer.zero_grad()
                    output = run.model(x)
                    loss = F.cross_entropy(output, y)
                    loss.backward()
                    run.optimizer.step()
                    run.loss_sum += loss.detach()

            if (b + 1) % report_every == 0 or b + 1 == batches:
                # Checking here, not every batch, avoids a device sync per step.
                for run in list(active):
                    mean = run.mean_loss(b + 1)
                    if not math.isfinite(mean) or mean > EXPLODED_LOSS:
                        run.diverge(epoch, mean)
                        active.remove(run)
                if not active:
                    break
                yield Progress(epoch, b + 1, batches)

        if stack is not None:
            stack.hand_back()
        seconds = time.perf_counter() - started
        metrics = [m for run in active if (m := run.end_epoch(epoch, val_x, val_y, batches, seconds)) is not None]
        if metrics:
            yield EpochEnd(epoch, tuple(metrics), tuple(run.model for run in runs))
        if not any(run.training for run in runs):
            break

    if any(run.status == Status.DIVERGED for run in runs):
        yield _finished(runs, Status.DIVERGED, " ".join(r.message for r in runs if r.status == Status.DIVERGED))
    else:
        yield _finished(runs, Status.COMPLETED, " ".join(r.message for r in runs if r.message) or "Training finished.")


def run_to_end(events: Iterator[Event]) -> Finished:
    """Consume a training generator for its result (tests, scripts)."""
    for event in events:
        if isinstance(event, Finished):
            return event
    raise RuntimeError("training ended without a Finished event")


def config_from_dict(values: dict) -> TrainConfig:
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in values.items() if k in known})
