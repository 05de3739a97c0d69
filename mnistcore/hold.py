"""Holding a run at an epoch, for the tests: a test that must see a run still training, or a run
waiting behind one, cannot hope that this machine is slow enough. ``MNISTCORE_HOLD_FILE`` names
a file that holds a number N: each of the server's runs trains N epochs, then waits at its next
progress report until the number is larger, the file is gone, or the run is stopped. Without
the setting, or without the file, nothing waits.

A test writes the file with ``allow_epochs`` (whole, never half-written) and removes it to let
every run go."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from .training import Progress

POLL_SECONDS = 0.05


def allow_epochs(path: Path, epochs: int) -> None:
    """Let runs train ``epochs`` epochs and hold them there."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(str(epochs))
    os.replace(partial, path)  # atomic: a reader never sees an empty file


def epochs_allowed(path: Path) -> float:
    """How many epochs runs may finish now: the file's number, or no limit without the file."""
    try:
        return int(path.read_text())
    except FileNotFoundError:
        return float("inf")


def held(events: Iterator, path: Path | None, stop: threading.Event, server_gone: Callable[[], bool]) -> Iterator:
    """``events`` passed on, each progress report past the allowed epochs followed by a wait.
    The wait ends when the hold is lifted, when ``stop`` is set (at once: it waits on it), or
    when ``server_gone()``, so that the worker notices at its next report and leaves."""
    for event in events:
        yield event
        if path is None or not isinstance(event, Progress):
            continue
        while not stop.is_set() and event.epoch > epochs_allowed(path) and not server_gone():
            stop.wait(POLL_SECONDS)
