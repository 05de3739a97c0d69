"""The hold the browser tests put on a server's runs (mnistcore/hold.py): a run trains the epochs
allowed, then waits at its next progress report, pulling nothing more from the trainer, until
the hold is lifted, the run is stopped or its server is gone. The waits are counted, not timed:
the stop event here calls the test back each time the hold waits on it."""

import threading

import pytest

from mnistcore.hold import allow_epochs, epochs_allowed, held
from mnistcore.training import Progress

EVENTS = [Progress(1, 1, 2), Progress(1, 2, 2), "epoch 1 ends", Progress(2, 1, 2), Progress(2, 2, 2)]


class Trainer:
    """The events, counting how many have been pulled."""

    def __init__(self):
        self.pulled = 0

    def __iter__(self):
        for event in EVENTS:
            self.pulled += 1
            yield event


class CountedStop(threading.Event):
    """A stop event that counts the hold's waits on it and calls ``on_wait`` with the count."""

    def __init__(self, on_wait=lambda n: None):
        super().__init__()
        self.waits, self.on_wait = 0, on_wait

    def wait(self, timeout=None):
        self.waits += 1
        self.on_wait(self.waits)
        return self.is_set()


def test_a_run_waits_after_the_allowed_epochs_until_more_are_allowed(tmp_path):
    path, trainer = tmp_path / "hold", Trainer()
    allow_epochs(path, 1)
    pulled_while_waiting = []

    def on_wait(n):
        pulled_while_waiting.append(trainer.pulled)
        if n == 3:
            allow_epochs(path, 2)

    stop = CountedStop(on_wait)
    assert list(held(iter(trainer), path, stop, lambda: False)) == EVENTS
    assert pulled_while_waiting == [4, 4, 4]  # at epoch 2's first report, the trainer not asked for more


@pytest.mark.parametrize("how", ["stopped", "server gone", "hold removed"])
def test_a_held_run_goes_on_when_stopped_when_its_server_is_gone_or_when_the_hold_goes(tmp_path, how):
    path, gone = tmp_path / "hold", threading.Event()
    allow_epochs(path, 0)
    stop = CountedStop()
    ends = {"stopped": stop.set, "server gone": gone.set, "hold removed": path.unlink}
    stop.on_wait = lambda n: ends[how]()
    assert list(held(iter(EVENTS), path, stop, gone.is_set)) == EVENTS
    assert stop.waits == 1


def test_without_the_setting_or_the_file_nothing_waits(tmp_path):
    stop = CountedStop()
    assert list(held(iter(EVENTS), None, stop, lambda: False)) == EVENTS
    assert list(held(iter(EVENTS), tmp_path / "no-such-file", stop, lambda: False)) == EVENTS
    assert stop.waits == 0
    assert epochs_allowed(tmp_path / "no-such-file") == float("inf")
