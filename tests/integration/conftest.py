"""What the integration tests share: a tiny run on the real data, a job manager with real
workers (closed after the test), and how far an accuracy may move on another CPU."""

import numpy as np
import pytest

from mnistcore.history import History
from mnistcore.jobs import JobLimits, JobManager
from mnistcore.training import TrainConfig

TINY = TrainConfig(dataset="mnist", arch="logreg", epochs=2, train_size=500, batch_size=50)


@pytest.fixture
def manager(tmp_path):
    """``manager(**limits)``: a JobManager on a fresh history under tmp_path."""
    managers = []

    def make(**limits):
        m = JobManager(History(tmp_path / "history.sqlite"), tmp_path / "models", JobLimits(**limits))
        managers.append(m)
        return m

    yield make
    for m in managers:
        m.close()


def tipping_images(probabilities: np.ndarray) -> int:
    """Test images that another CPU's rounding could tip to another answer: those whose two
    likeliest classes are within 1e-4 of each other (relatively, about their logits' gap). Float32
    logits summed in another order differ by about sqrt(K) * 2**-24 relative for a layer of K
    inputs, 2e-6 for the widest here (1,568), fifty times less. An accuracy stated on one
    machine may differ on another by these images and no more."""
    top = np.sort(probabilities, axis=1)[:, -2:]
    return int(((top[:, 1] - top[:, 0]) < 1e-4 * top[:, 1]).sum())
