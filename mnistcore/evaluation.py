"""Loss, accuracy and probabilities over many images at once."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def as_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) as stored -> float (N, 1, 28, 28) in [0, 1] as the models take it."""
    return torch.div(images.unsqueeze(1), 255.0)  # one kernel: uint8 in, float32 out


@torch.inference_mode()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 2000) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of the model in eval mode; its mode is restored."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        x = as_input(images[start:start + batch_size].to(device))
        y = labels[start:start + batch_size].to(device)
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train(was_training)
    return loss_sum / len(labels), correct / len(labels)


@torch.inference_mode()
def predict_probabilities(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """x: float (N, 1, 28, 28) in [0, 1] -> (N, 10) class probabilities."""
    model.eval()
    device = next(model.parameters()).device
    return F.softmax(model(x.to(device)), dim=1).cpu()
