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
from dataclasses import asdict, dataclass, field, fields
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .augment import augment
from .data import Split, get_spec, load_split
from .device import pick_device
from .evaluation import as_input, evaluate
from .models import ARCHS, build_model


@dataclass(frozen=True)
class TrainConfig:
    """Defaults are the seeds': the Fashion-MNIST MLP, Adam 0.003, batch 64, 30 epochs."""

    dataset: str = "fashion"
    arch: str = "mlp"
    dropout: float = 0.0
    epochs: int = 30
    batch_size: int = 64
    lr: float = 0.003
    train_size: int | None = None  # None: all 50,000 training images
    patience: int | None = None  # None: train every epoch (the best epoch is still kept)
    seed: int = 0
    augment: bool = False
    cosine: bool = False  # anneal the learning rate to zero over the epochs (for final models)

    def __post_init__(self):
        # A config also arrives from the run history and from model cards: check the types too
        # (True is an int to Python, "5" is not a number).
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in (
            self.epochs, self.batch_size, self.seed, 0 if self.train_size is None else self.train_size,
            1 if self.patience is None else self.patience))
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
            (self.train_size is None or 1 <= self.train_size <= 50_000, "training-set size must be between 1 and 50000"),
            (self.patience is None or self.patience >= 1, "patience must be at least 1"),
            (0 <= self.seed < 2**63, "seed must be a non-negative integer"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def label(self) -> str:
        return f"{self.arch}, dropout {self.dropout:g}" if self.dropout else f"{self.arch}, no dropout"


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


@dataclass
class RunResult:
    config: TrainConfig
    model: nn.Module  # with the best epoch's weights loaded
    status: str = "training"  # then "completed", "early_stopped", "diverged" or "stopped"
    best_epoch: int | None = None  # None: no epoch finished with a finite validation loss
    best_val_loss: float = math.inf
    best_val_accuracy: float | None = None
    history: list[EpochMetrics] = field(default_factory=list)
    message: str = ""

    @property
    def epochs_trained(self) -> int:
        return len(self.history)


@dataclass(frozen=True)
class Finished:
    status: str  # "completed", "stopped" or "diverged"
    message: str
    results: tuple[RunResult, ...]


Event = Progress | EpochEnd | Finished


def _check_lockstep(configs: Sequence[TrainConfig]) -> None:
    if not configs:
        raise ValueError("nothing to train")
    for name in SHARED_FIELDS:
        values = {getattr(c, name) for c in configs}
        if len(values) > 1:
            raise ValueError(f"lockstep runs must share {name}, got {sorted(map(str, values))}")


def train(configs: TrainConfig | Sequence[TrainConfig], data: TrainData | None = None,
          stop: threading.Event | None = None, device: torch.device | None = None) -> Iterator[Event]:
    configs = [configs] if isinstance(configs, TrainConfig) else list(configs)
    _check_lockstep(configs)
    first = configs[0]
    device = device or pick_device()
    data = data or load_train_data(first)
    spec = get_spec(first.dataset)

    train_x, train_y = data.train.images.to(device), data.train.labels.to(device)
    val_x, val_y = data.val.images.to(device), data.val.labels.to(device)

    runs, optimizers, schedules, best_states, loss_sums = [], [], [], [], []
    for config in configs:
        torch.manual_seed(config.seed)  # same seed, same architecture: same initial weights
        model = build_model(config.arch, config.dropout, spec.mean, spec.std).to(device)
        # Its own dropout generator: a model's masks do not depend on what trains beside it.
        model.generator = torch.Generator(device).manual_seed(config.seed)
        runs.append(RunResult(config, model))
        # The fused Adam kernel is a third faster than the default on this 2-core CPU.
        optimizers.append(torch.optim.Adam(model.parameters(), lr=config.lr, fused=True))
        schedules.append(torch.optim.lr_scheduler.CosineAnnealingLR(optimizers[-1], config.epochs)
                         if config.cosine else None)
        best_states.append(copy.deepcopy(model.state_dict()))
        loss_sums.append(None)
    batch_order = torch.Generator().manual_seed(first.seed)
    augmentation = torch.Generator().manual_seed(first.seed + 1)

    n, bs = len(train_y), first.batch_size
    batches = math.ceil(n / bs)
    report_every = max(1, batches // 50)

    def finish(status: str, message: str) -> Finished:
        for run, state in zip(runs, best_states):
            run.model.load_state_dict(state)
            run.model.eval()
            if run.status == "training":
                run.status = status
        return Finished(status, message, tuple(runs))

    def diverge(i: int, epoch: int, value: float) -> None:
        run = runs[i]
        run.status = "diverged"
        run.message = (f"{run.config.label}: the training loss exploded to {value:.3g} in epoch {epoch}, "
                       f"so training stopped. The learning rate {run.config.lr:g} is too high; try a smaller "
                       f"one (the seeds use 0.003).")

    for epoch in range(1, first.epochs + 1):
        started = time.perf_counter()
        active = [i for i, r in enumerate(runs) if r.status == "training"]
        for i in active:
            runs[i].model.train()
            loss_sums[i] = torch.zeros((), device=device)
        order = torch.randperm(n, generator=batch_order).to(device)
        for b in range(batches):
            if stop is not None and stop.is_set():
                yield finish("stopped", f"Stopped by the user in epoch {epoch}.")
                return
            idx = order[b * bs:(b + 1) * bs]
            x, y = as_input(train_x.index_select(0, idx)), train_y.index_select(0, idx)
            if first.augment:
                x = augment(x, augmentation)
            for i in active:
                loss = F.cross_entropy(runs[i].model(x), y)
                optimizers[i].zero_grad(set_to_none=True)
                loss.backward()
                optimizers[i].step()
                loss_sums[i] += loss.detach()
            if (b + 1) % report_every == 0 or b + 1 == batches:
                # Checking here, not every batch, avoids a device sync per step.
                for i in list(active):
                    mean = loss_sums[i].item() / (b + 1)
                    if not math.isfinite(mean) or mean > EXPLODED_LOSS:
                        diverge(i, epoch, mean)
                        active.remove(i)
                if not active:
                    break
                yield Progress(epoch, b + 1, batches)

        seconds = time.perf_counter() - started
        metrics = []
        for i in active:
            run = runs[i]
            if schedules[i] is not None:
                schedules[i].step()
            val_loss, val_accuracy = evaluate(run.model, val_x, val_y)
            if not math.isfinite(val_loss):
                diverge(i, epoch, val_loss)
                continue
            is_best = val_loss < run.best_val_loss
            if is_best:
                run.best_epoch, run.best_val_loss, run.best_val_accuracy = epoch, val_loss, val_accuracy
                best_states[i] = copy.deepcopy(run.model.state_dict())
            m = EpochMetrics(i, epoch, loss_sums[i].item() / batches, val_loss, val_accuracy, seconds, is_best)
            run.history.append(m)
            metrics.append(m)
            patience = run.config.patience
            if patience is not None and epoch - run.best_epoch >= patience:
                run.status = "early_stopped"
                run.message = (f"{run.config.label}: validation loss did not improve for {patience} "
                               f"epochs; stopped at epoch {epoch}, kept epoch {run.best_epoch}.")
        if metrics:
            yield EpochEnd(epoch, tuple(metrics), tuple(r.model for r in runs))
        if not any(r.status == "training" for r in runs):
            break

    if any(r.status == "diverged" for r in runs):
        yield finish("diverged", " ".join(r.message for r in runs if r.status == "diverged"))
    else:
        yield finish("completed", " ".join(r.message for r in runs if r.message) or "Training finished.")


def run_to_end(events: Iterator[Event]) -> Finished:
    """Consume a training generator for its result (tests, scripts)."""
    for event in events:
        if isinstance(event, Finished):
            return event
    raise RuntimeError("training ended without a Finished event")


def config_from_dict(values: dict) -> TrainConfig:
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in values.items() if k in known})
