"""The Insight pages' computations on the real datasets and the shipped models."""

import numpy as np
import pytest
import torch

from mnistcore.catalog import SHIPPED_DIR
from mnistcore.checkpoints import load_checkpoint
from mnistcore.data import load_split
from mnistcore.evaluation import evaluate
from mnistcore.explore import class_counts, class_samples, mean_images
from mnistcore.inside import top_confidences
from tests.integration.conftest import tipping_images


@pytest.mark.parametrize("name", ["mnist", "fashion"])
def test_class_counts_cover_every_image_of_every_split(name):
    counts = class_counts(name)
    assert [int(counts[s].sum()) for s in ("train", "val", "test")] == [50_000, 10_000, 10_000]
    assert all(c.min() > 0.08 * c.sum() for c in counts.values())  # close to balanced: no class below 8%


def test_mean_images_are_the_average_of_each_class():
    means = mean_images("mnist")
    train = load_split("mnist", "train")
    ones = train.images[train.labels == 1].float().mean(0).numpy() / 255
    np.testing.assert_allclose(means[1], ones, atol=1e-5)
    # A "1" is a narrow upright stroke: ink in the middle columns, none at the sides.
    assert means[1][:, 12:16].mean() > 5 * means[1][:, :8].mean()


def test_class_samples_are_of_that_class_and_pages_move_on():
    first, index = class_samples("fashion", "test", 9, count=40, page=0)
    second, index2 = class_samples("fashion", "test", 9, count=40, page=1)
    test = load_split("fashion", "test")
    assert first.shape == (40, 28, 28) and first.min() >= 0 and first.max() <= 1
    assert (test.labels[torch.from_numpy(index)] == 9).all()
    assert not set(index) & set(index2)
    np.testing.assert_allclose(first[0], test.images[index[0]].numpy() / 255)


def test_the_shipped_cnn_is_confident_about_clothes_it_was_never_shown():
    # The teaching point of the out-of-distribution panel: a digit classifier has no "none of
    # these" answer, and is often very sure about a sandal.
    model, _ = load_checkpoint(SHIPPED_DIR / "mnist-cnn.pt")
    own, clothes = top_confidences(model, "mnist"), top_confidences(model, "fashion")
    assert (own > 0.9).mean() > 0.95
    assert (clothes > 0.9).mean() > 0.5


def test_evaluating_a_shipped_model_matches_its_card():
    model, card = load_checkpoint(SHIPPED_DIR / "fashion-cnn.pt")
    test = load_split("fashion", "test")
    ev = evaluate(model, test.images, test.labels)
    assert abs(ev.accuracy - card.test_accuracy) <= tipping_images(ev.probabilities) / 10_000 + 1e-9
    assert ev.confusion().sum() == 10_000
    off_diagonal = ev.confusion() - np.diag(np.diag(ev.confusion()))
    assert ev.confusion()[ev.most_confused()] == off_diagonal.max() > 0  # the page opens on this cell
