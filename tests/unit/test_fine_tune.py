"""Fine-tuning on the class's handwriting: through the one trainer, measured on drawings it
never learns from, before and after."""

import numpy as np
import pytest
import torch

from mnistcore.data import get_spec
from mnistcore.errors import LimitError
from mnistcore.fine_tune import MIN_HELD_OUT, MIN_TRAIN, FineTuned, fine_tune
from mnistcore.handwriting import Handwriting
from mnistcore.history import History
from mnistcore.models import build_model
from mnistcore.training import EpochEnd, Finished
from tests.unit.test_handwriting import INK

STUDENTS = [f"{i:016x}" for i in range(1, 5)]


def drawing(label: int, rng) -> np.ndarray:
    """A stand-in for a class's own way of writing ``label``: a bright bar in the label's row."""
    image = rng.uniform(0, 0.2, (28, 28)).astype(np.float32)
    image[2 + 2 * label, 4:24] = 1.0
    return image


@pytest.fixture
def handwriting(tmp_path):
    return Handwriting(History(tmp_path / "history.sqlite"))


def test_fine_tuning_learns_the_class_writing_and_says_on_how_many(handwriting):
    rng = np.random.default_rng(0)
    for i in range(80):
        handwriting.add(STUDENTS[i % 4], i % 10, drawing(i % 10, rng), INK)
    torch.manual_seed(0)
    spec = get_spec("mnist")
    model = build_model("logreg", 0.0, spec.mean, spec.std)
    events = list(fine_tune(model, "logreg", 0.0, handwriting, epochs=15))

    assert sum(isinstance(e, EpochEnd) for e in events) == 15
    assert isinstance(events[-2], Finished)
    result = events[-1]
    assert isinstance(result, FineTuned)
    assert result.trained_on == 60 and result.before.count == result.after.count == 20
    assert result.before.accuracy < result.after.accuracy
    assert result.after.accuracy >= 0.9 and result.after.right == round(result.after.accuracy * 20)
    assert not torch.equal(result.model.state_dict()["fc.weight"], model.state_dict()["fc.weight"])


def test_too_few_drawings_are_refused_with_how_many_are_needed(handwriting):
    rng = np.random.default_rng(1)
    for i in range(MIN_TRAIN):
        handwriting.add(STUDENTS[0], i % 10, drawing(i % 10, rng), INK)
    model = build_model("logreg")
    with pytest.raises(
        LimitError, match=rf"kept {MIN_TRAIN} drawings; fine-tuning needs about {MIN_TRAIN + MIN_HELD_OUT + 1}"
    ):
        next(fine_tune(model, "logreg", 0.0, handwriting))
