"""The shipped checkpoints: each meets its test-split floor as `python -m mnistcore evaluate`
reports it, and the digit models read handwriting that is not MNIST."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mnistcore.catalog import SHIPPED_DIR
from mnistcore.checkpoints import load_checkpoint
from mnistcore.inference import classify
from mnistcore.preprocess import prepare_input

FLOORS = {"mnist-cnn": 0.992, "mnist-mlp": 0.980, "mnist-logreg": 0.920, "fashion-cnn": 0.915, "fashion-mlp": 0.885}


@pytest.mark.parametrize("name", FLOORS)
def test_shipped_checkpoint_meets_its_test_accuracy_floor(name):
    path = SHIPPED_DIR / f"{name}.pt"
    done = subprocess.run(
        [sys.executable, "-m", "mnistcore", "evaluate", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["images"] == 10_000
    assert result["accuracy"] >= FLOORS[name]
    card = json.loads(path.with_suffix(".json").read_text())  # the card says what evaluate measures
    assert card["test_accuracy"] == pytest.approx(result["accuracy"], abs=1e-4)


def uci_digits():
    """scikit-learn's copy of the UCI handwritten digits: 1,797 digits by 43 writers, scanned
    at 8x8 with 17 gray levels. Not MNIST, and not in this repository."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    drawings = [
        np.asarray(Image.fromarray((image * 255 / 16).astype(np.uint8)).resize((112, 112), Image.BILINEAR))
        for image in digits.images
    ]
    return drawings, digits.target


# Measured on the shipped models (see README): the floors sit a little below.
UCI_FLOORS = {"mnist-cnn": 0.94, "mnist-mlp": 0.82, "mnist-logreg": 0.62}


@pytest.mark.parametrize("name", UCI_FLOORS)
def test_shipped_digit_models_read_handwriting_that_is_not_mnist(name):
    model, _ = load_checkpoint(SHIPPED_DIR / f"{name}.pt")
    drawings, labels = uci_digits()
    answers = [classify(model, prepare_input(d, "mnist"), "mnist").index for d in drawings]
    accuracy = float(np.mean(np.array(answers) == labels))
    print(f"{name}: {accuracy:.3f} on {len(labels)} UCI digits")
    assert accuracy >= UCI_FLOORS[name]
