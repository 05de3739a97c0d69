"""What the integration tests share: a tiny run on the real data, a job manager with real
workers (closed after the test), and waiting with a deadline."""

import time

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


def wait_for(condition, timeout=120, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")
