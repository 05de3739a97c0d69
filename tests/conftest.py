import time

import pytest
import torch

from mnistcore.data import Split
from mnistcore.training import TrainData


def synthetic_split(n: int, seed: int, noise: int = 40) -> Split:
    """Ten classes a small model can learn in a few epochs: class k is a bright bar in its own
    place on a noisy background."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    images = torch.randint(0, noise, (n, 28, 28), generator=g, dtype=torch.int64)
    for k in range(10):
        rows = labels == k
        images[rows, 2 + 2 * k : 4 + 2 * k, 4:24] = 255
    return Split(images.to(torch.uint8), labels)


@pytest.fixture
def tiny_data() -> TrainData:
    return TrainData(synthetic_split(640, seed=1), synthetic_split(200, seed=2))


def wait_for(condition, timeout=120, every=0.05):
    """``condition()``'s first true value, asked every ``every`` seconds; a test that waits
    longer than ``timeout`` fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s")
