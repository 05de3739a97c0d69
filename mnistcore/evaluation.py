"""Loss, accuracy and probabilities over many images at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def as_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) as stored -> float (N, 1, 28, 28) in [0, 1] as the models take it."""
    return torch.div(images.unsqueeze(1), 255.0)  # one kernel: uint8 in, float32 out


# Batches of 500 keep the CNN's activations in cache: twice as fast as 2,000 on this CPU.
EVAL_BATCH = 500


def loss_and_accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = EVAL_BATCH
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of the model in eval mode; its mode is restored."""
    was_training = model.training
    result = evaluate(model, images, labels, batch_size)
    model.train(was_training)
    return result.loss, result.accuracy


@torch.inference_mode()
def predict_probabilities(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """x: float (N, 1, 28, 28) in [0, 1] -> (N, 10) class probabilities."""
    model.eval()
    device = next(model.parameters()).device
    return F.softmax(model(x.to(device)), dim=1).cpu()


@dataclass(frozen=True)
class Evaluation:
    """A model's answers on a whole split: what the Evaluate page and the run report show."""

    probabilities: np.ndarray  # (N, 10) float32
    labels: np.ndarray  # (N,) int64
    loss: float  # mean cross-entropy

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(1)

    @property
    def confidences(self) -> np.ndarray:
        return self.probabilities.max(1)

    @property
    def accuracy(self) -> float:
        return float((self.predictions == self.labels).mean())

    @property
    def wrong(self) -> int:
        """How many answers are wrong."""
        return int((self.predictions != self.labels).sum())

    def confusion(self) -> np.ndarray:
        """(10, 10) counts: row = true class, column = predicted class."""
        k = self.probabilities.shape[1]
        return np.bincount(self.labels * k + self.predictions, minlength=k * k).reshape(k, k)

    def per_class_accuracy(self) -> np.ndarray:
        matrix = self.confusion()
        return matrix.diagonal() / np.maximum(matrix.sum(1), 1)

    def most_confused(self) -> tuple[int, int]:
        """(true, predicted) of the most frequent mistake."""
        matrix = self.confusion()
        np.fill_diagonal(matrix, -1)
        true, predicted = np.unravel_index(matrix.argmax(), matrix.shape)
        return int(true), int(predicted)

    def cell(self, true: int, predicted: int) -> np.ndarray:
        """Indices of the images of class ``true`` the model called ``predicted``, most confident first."""
        index = np.flatnonzero((self.labels == true) & (self.predictions == predicted))
        return index[np.argsort(-self.confidences[index], kind="stable")]

    def confident_mistakes(self, count: int) -> np.ndarray:
        """Indices of the wrong answers the model was surest of."""
        wrong = np.flatnonzero(self.predictions != self.labels)
        return wrong[np.argsort(-self.confidences[wrong], kind="stable")][:count]


@torch.inference_mode()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = EVAL_BATCH) -> Evaluation:
    """Every answer of the model (put in eval mode) on the images."""
    model.eval()
    device = next(model.parameters()).device
    chunks = [
        F.log_softmax(model(as_input(images[i : i + batch_size].to(device))), 1).cpu()
        for i in range(0, len(labels), batch_size)
    ]
    log_probabilities = torch.cat(chunks)
    loss = F.nll_loss(log_probabilities, labels.cpu()).item()
    return Evaluation(log_probabilities.exp().numpy(), labels.cpu().numpy(), loss)
