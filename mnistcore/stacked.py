"""Lockstep runs that differ only in dropout, trained as one stacked model: every weight gets a
leading model dimension, so a layer is one batched matrix product (or one grouped convolution)
for all the models, and one fused Adam kernel updates them all.

This is an optimisation of ``training.train``'s plain step and nothing more: each model still
sees the same batch, draws the same dropout masks from its own generator, and gets the gradient
of its own mean loss. It pays because a small model's step on a CPU is as much the overhead
around its matrix products as the products themselves, and the stack pays it once for all the
models: the seeds' MLP pair takes about a quarter less time per epoch; a CNN pair, whose
convolutions dominate, a few percent (benchmarks/epoch_speed.py measures both against their
matrix products alone; tests/unit/test_stacked.py checks the curves match the plain step's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from .training import Run

Tensors = dict[str, torch.Tensor]


# Activations here are feature-major, (M, features, N) for N images, the transpose of the
# models': ``weight @ x`` then multiplies nn.Linear's (out, in) weights as they are, and their
# gradients come out in that layout too, with no copy to make them contiguous.


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Every model's ``nn.Linear`` at once. weight (M, out, in), bias (M, out); x (in, N) when all
    the models read the same input, (M, in, N) when each reads its own. Returns (M, out, N)."""
    if x.dim() == 2:
        # One input for all: one matrix product with the models' weights stacked.
        models, out = bias.shape
        return torch.addmm(bias.flatten().unsqueeze(1), weight.flatten(0, 1), x).view(models, out, -1)
    return torch.baddbmm(bias.unsqueeze(2), weight, x)


def batch_norm(x: torch.Tensor, p: Tensors, buffers: Tensors, name: str) -> torch.Tensor:
    """Every model's ``nn.BatchNorm2d`` at once: each channel is normalised on its own, so the
    models' channels side by side are the models' batch norms."""
    return F.batch_norm(
        x,
        buffers[f"{name}.running_mean"].view(-1),
        buffers[f"{name}.running_var"].view(-1),
        p[f"{name}.weight"].flatten(),
        p[f"{name}.bias"].flatten(),
        training=True,
    )


def normalize(x: torch.Tensor, buffers: Tensors) -> torch.Tensor:
    return (x - buffers["mean"][0]) / buffers["std"][0]  # the dataset's, the same for every model


# The forward passes of models.py's architectures on stacked weights, returning (M, 10, N)
# logits. ``drop`` is dropout, called in the order and widths of the models' own ``drop`` calls.
Drop = Callable[[torch.Tensor], torch.Tensor]


def logreg(x: torch.Tensor, p: Tensors, buffers: Tensors, drop: Drop) -> torch.Tensor:
    x = normalize(x, buffers).flatten(1).t()
    return linear(drop(x.expand(len(p["fc.bias"]), *x.shape)), p["fc.weight"], p["fc.bias"])


def mlp(x: torch.Tensor, p: Tensors, buffers: Tensors, drop: Drop) -> torch.Tensor:
    x = normalize(x, buffers).flatten(1).t()
    x = drop(F.relu(linear(x, p["fc1.weight"], p["fc1.bias"])))
    x = drop(F.relu(linear(x, p["fc2.weight"], p["fc2.bias"])))
    x = drop(F.relu(linear(x, p["fc3.weight"], p["fc3.bias"])))
    return linear(x, p["fc4.weight"], p["fc4.bias"])


def cnn(x: torch.Tensor, p: Tensors, buffers: Tensors, drop: Drop) -> torch.Tensor:
    models = len(p["fc2.bias"])
    # The first convolution reads the same image for every model: its filters side by side are
    # one convolution. The second reads each model's own channels: a grouped convolution.
    x = F.conv2d(normalize(x, buffers), p["conv1.weight"].flatten(0, 1), p["conv1.bias"].flatten(), padding=2)
    x = F.max_pool2d(F.relu(batch_norm(x, p, buffers, "bn1")), 2)
    x = F.conv2d(x, p["conv2.weight"].flatten(0, 1), p["conv2.bias"].flatten(), padding=2, groups=models)
    x = F.max_pool2d(F.relu(batch_norm(x, p, buffers, "bn2")), 2)
    x = x.view(len(x), models, -1).permute(1, 2, 0)  # (M, 32 * 7 * 7, N): each model's features
    return linear(drop(F.relu(linear(x, p["fc1.weight"], p["fc1.bias"]))), p["fc2.weight"], p["fc2.bias"])


# Each architecture's stacked forward, and the widths its dropout masks have, in order.
FORWARDS = {"logreg": (logreg, (784,)), "mlp": (mlp, (256, 128, 64)), "cnn": (cnn, (128,))}


def can_stack(runs: Sequence[Run]) -> bool:
    """Two or more runs whose settings differ in dropout and patience at most: the same
    architecture, initial weights and learning rate, so one stacked step can train them all."""
    first = runs[0].config
    return (
        len(runs) >= 2
        and first.arch in FORWARDS
        and all(replace(run.config, dropout=first.dropout, patience=first.patience) == first for run in runs)
        and all(run.model.training and not run.model.mc_dropout for run in runs)
    )


class StackedRuns:
    """One epoch of ``runs`` trained as one model: built from the runs' models and optimizers at
    the start of the epoch, handed back to them at the end."""

    def __init__(self, runs: Sequence[Run]):
        self.runs = list(runs)
        models = [run.model for run in self.runs]
        self.forward, self.dropout_widths = FORWARDS[self.runs[0].config.arch]
        self.params = {
            name: torch.stack([dict(m.named_parameters())[name].detach() for m in models]).requires_grad_()
            for name, _ in models[0].named_parameters()
        }
        self.buffers = {
            name: torch.stack([dict(m.named_buffers())[name] for m in models]) for name, _ in models[0].named_buffers()
        }
        self.steps = 0

        # Adam is elementwise: on stacked weights it is each model's Adam, and it carries on from
        # where each run's optimizer is (its moments and step count, its scheduled learning rate).
        optimizer = self.runs[0].optimizer
        self.optimizer = torch.optim.Adam(self.params.values(), lr=optimizer.param_groups[0]["lr"], fused=True)
        for name, stacked in self.params.items():
            states = [run.optimizer.state[dict(run.model.named_parameters())[name]] for run in self.runs]
            if states[0]:
                self.optimizer.state[stacked] = {
                    key: value.clone() if key == "step" else torch.stack([s[key] for s in states])
                    for key, value in states[0].items()
                }

        device = next(models[0].parameters()).device
        self.any_dropout = any(run.config.dropout for run in self.runs)
        self.dropout = torch.tensor([run.config.dropout for run in self.runs], device=device).unsqueeze(1)
        # Each run's running loss becomes a view of one tensor, so one add per step keeps them all.
        self.loss_sums = torch.zeros(len(self.runs), device=device)
        for m, run in enumerate(self.runs):
            run.loss_sum = self.loss_sums[m]

    def dropout_masks(self, n: int) -> list[torch.Tensor] | None:
        """Each dropout layer's (M, width, n) keep-and-rescale factors; None without dropout. A
        model draws its masks from its own generator, one after the other as its forward would."""
        if not self.any_dropout:
            return None
        widths = [n * width for width in self.dropout_widths]
        uniform = torch.ones(len(self.runs), sum(widths), device=self.dropout.device)
        for row, run in zip(uniform, self.runs, strict=True):
            if run.config.dropout:
                torch.rand(row.shape, generator=run.model.generator, device=row.device, out=row)
        scales = (uniform >= self.dropout) / (1.0 - self.dropout)
        return [mask.view(len(self.runs), n, -1).transpose(1, 2) for mask in scales.split(widths, dim=1)]

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """The plain step for every model at once; each run's ``loss_sum`` gets its loss."""
        masks = self.dropout_masks(len(x))
        layers = iter(masks or ())

        def drop(h: torch.Tensor) -> torch.Tensor:
            return h if masks is None else h * next(layers)

        self.optimizer.zero_grad()
        output = self.forward(x, self.params, self.buffers, drop)
        losses = F.cross_entropy(output, y.expand(len(self.runs), -1), reduction="none").mean(1)
        # A model's loss depends on its weights alone: the sum's gradient is each one's own.
        losses.sum().backward()
        self.optimizer.step()
        self.loss_sums += losses.detach()
        self.steps += 1

    @torch.no_grad()
    def hand_back(self) -> None:
        """Each run still training gets its model's weights and batch-norm statistics and its
        Adam state back, as if the plain step had trained it; a run that diverged keeps its
        own."""
        for m, run in enumerate(self.runs):
            if not run.training:
                continue
            for name, param in run.model.named_parameters():
                param.copy_(self.params[name][m])
                state = self.optimizer.state[self.params[name]]
                run.optimizer.state[param] = {
                    key: value.clone() if key == "step" else value[m].clone() for key, value in state.items()
                }
            # The run's optimizer has stepped, by proxy: its learning-rate schedule need not warn
            # that it steps first.
            run.optimizer._opt_called = True
            for name, buffer in run.model.named_buffers():
                if name.endswith("num_batches_tracked"):
                    buffer += self.steps  # the batch norm module counts its batches itself
                else:
                    buffer.copy_(self.buffers[name][m])
