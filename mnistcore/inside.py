"""What the network sees: first-layer weights as pictures, a CNN's filters and feature maps,
saliency (which pixels move the answer), Monte-Carlo dropout (how sure the model really is),
and how confidently it answers images unlike any it was trained on."""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from .data import load_split
from .evaluation import as_input
from .models import CNN, MLP, Classifier, LogReg

SURE = 0.9  # a confidence above this reads as "sure" in the out-of-distribution comparison


def first_layer_weights(model: Classifier) -> np.ndarray:
    """(K, 28, 28): one picture per unit of the first layer. For logistic regression the ten
    class templates; for the MLP what each of its 256 first hidden units looks for."""
    if isinstance(model, LogReg):
        weights = model.fc.weight
    elif isinstance(model, MLP):
        weights = model.fc1.weight
    else:
        raise ValueError("only logistic regression and the MLP weigh each pixel directly")
    return weights.detach().cpu().reshape(-1, 28, 28).numpy()


def conv_filters(model: CNN) -> np.ndarray:
    """(16, 5, 5): the first convolution's filters, each slid over the whole image."""
    return model.conv1.weight.detach().cpu()[:, 0].numpy()


@torch.inference_mode()
def feature_maps(model: CNN, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The two conv blocks' outputs for one input, (16, 14, 14) and (32, 7, 7), each block
    scaled by its own largest value into [0, 1] (after ReLU nothing is below 0), so the maps of
    one block compare with each other."""
    model.eval()
    blocks = model.features(x.to(model.mean.device))
    first, second = (block[0] / block[0].max().clamp(min=1e-6) for block in blocks)
    return first.cpu().numpy(), second.cpu().numpy()


def saliency(model: Classifier, x: torch.Tensor, target: int | None = None) -> np.ndarray:
    """(28, 28) in [0, 1]: how strongly each pixel moves the score of ``target`` (the top class
    when None), |d score / d pixel|. Scaled so the 99th percentile is 1: a few extreme pixels
    would otherwise leave the rest of the map invisible."""
    model.eval()
    x = x.detach().to(model.mean.device).requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        target = int(logits.argmax(1)) if target is None else target
        # autograd.grad, not backward: the model is shared by every session and keeps no gradient.
        (gradient,) = torch.autograd.grad(logits[0, target], x)
    magnitude = gradient[0, 0].abs()
    scale = torch.quantile(magnitude.flatten(), 0.99).clamp(min=1e-12)
    return (magnitude / scale).clamp(max=1.0).cpu().numpy()


@torch.inference_mode()
def mc_dropout(model: Classifier, x: torch.Tensor, passes: int = 50, seed: int = 0) -> np.ndarray:
    """(passes, 10) class probabilities with dropout left on: each pass switches off other
    units, so the spread shows how much the answer rests on any few of them."""
    if not model.dropout:
        raise ValueError("this model was trained without dropout")
    sampler = copy.deepcopy(model).eval()  # a copy: the cached model is shared by every session
    sampler.mc_dropout = True
    sampler.generator = torch.Generator(model.mean.device).manual_seed(seed)
    x = x.to(model.mean.device).expand(passes, *x.shape[1:])  # one batch: a fresh mask per row
    return F.softmax(sampler(x), dim=1).cpu().numpy()


def wins(samples: np.ndarray) -> np.ndarray:
    """(10,): in how many of the Monte-Carlo passes each class came out on top."""
    return np.bincount(samples.argmax(1), minlength=samples.shape[1])


def share_sure(confidences: np.ndarray, threshold: float = SURE) -> float:
    """The share of answers given with more than ``threshold`` confidence."""
    return float(np.mean(confidences > threshold))


@torch.inference_mode()
def top_confidences(model: Classifier, dataset: str, count: int = 1000) -> np.ndarray:
    """The model's confidence in its top answer on the first ``count`` test images of a
    dataset: its own, or the other one (out of distribution)."""
    model.eval()
    images = load_split(dataset, "test").images[:count]
    return F.softmax(model(as_input(images).to(model.mean.device)), dim=1).max(1).values.cpu().numpy()
