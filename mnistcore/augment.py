"""Light augmentation for digit models, applied to a whole batch at once on its device:
random rotation, scale and shift, and a stroke one pixel thicker or thinner. This is what lets
a model trained on MNIST read digits drawn small, large, off-centre, or with another brush."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_DEGREES = 15.0
SCALE_RANGE = (0.8, 1.2)
MAX_SHIFT_PX = 3.0


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """x: (N, 1, 28, 28) floats in [0, 1]. The generator (on the CPU) makes it reproducible."""
    n = x.shape[0]
    angle = _uniform(n, -1, 1, generator) * math.radians(MAX_DEGREES)
    scale = _uniform(n, *SCALE_RANGE, generator)
    shift = _uniform(2 * n, -1, 1, generator).view(n, 2) * MAX_SHIFT_PX * 2 / x.shape[-1]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # affine_grid maps output to input coordinates, hence the inverse scale.
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1).to(
        x.device, x.dtype
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")

    # A third of the batch gets a thicker stroke, a third a thinner one (2x2 max/min filter).
    stroke = torch.randint(0, 3, (n,), generator=generator).to(x.device)
    padded = F.pad(x, (0, 1, 0, 1))
    thicker = F.max_pool2d(padded, 2, stride=1)
    thinner = -F.max_pool2d(-padded, 2, stride=1)
    pick = stroke.view(n, 1, 1, 1)
    return torch.where(pick == 1, thicker, torch.where(pick == 2, thinner, x))
