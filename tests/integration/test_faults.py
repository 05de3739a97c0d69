"""Storage failures and runaway runs, with real worker processes on the real datasets: a full
or read-only disk ends in messages and leaves no job "running"; a run beyond the class's time
limit is refused, or stopped there with its best epoch kept."""

import hashlib
import itertools
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import replace
from types import SimpleNamespace

import pytest

from mnistcore import job_stream
from mnistcore.checkpoints import load_checkpoint
from mnistcore.data import DATASETS, raw_dir
from mnistcore.errors import LimitError, StorageError
from mnistcore.history import History
from mnistcore.presets import PRESETS
from mnistcore.settings import Settings
from mnistcore.status import Status
from mnistcore.training import TrainConfig
from mnistcore.worker import SERVER_GONE, run_job
from tests.conftest import wait_for
from tests.integration.conftest import TINY

LONG = TrainConfig(dataset="mnist", arch="mlp", epochs=50)


class Disk:
    """The disk under one History: while ``full``, every write fails the way SQLite fails on a
    full disk (and is counted); reads still work, as they do there."""

    def __init__(self, history: History, monkeypatch):
        self.full = False
        self.refused = 0
        connect = history._connect

        def guarded(write: bool):
            if write and self.full:
                self.refused += 1
                raise sqlite3.OperationalError("database or disk is full")
            return connect(write)

        monkeypatch.setattr(history, "_connect", guarded)


def test_a_submit_on_a_full_disk_is_refused_with_a_message(manager, monkeypatch):
    jobs = manager()
    disk = Disk(jobs.history, monkeypatch)
    disk.full = True
    with pytest.raises(StorageError, match="could not write its run history: its disk may be full or read-only"):
        jobs.submit("ann", "full", [TINY])
    disk.full = False
    job = jobs.submit("ann", "space again", [TINY])
    wait_for(lambda: jobs.history.job(job).status == "completed")


def test_a_worker_that_dies_while_the_disk_is_full_is_closed_as_soon_as_possible(manager, monkeypatch, caplog):
    jobs = manager(max_running=1)
    job = jobs.submit("ann", "doomed", [LONG])
    wait_for(lambda: jobs.history.job(job).batch > 0)
    disk = Disk(jobs.history, monkeypatch)
    disk.full = True
    with caplog.at_level(logging.INFO, logger="mnistcore.jobs"):
        os.kill(jobs.workers.pid(job), signal.SIGKILL)  # as a worker dies when its disk fills
        wait_for(lambda: jobs.job(job).status == "failed", timeout=10)  # the page shows it at once
        assert jobs.history.job(job).status == "running"  # the disk has not taken it yet
        jobs.stop(job, owner="ann")  # Stop on it is harmless
        tried = disk.refused
        wait_for(lambda: disk.refused >= tried + 3, timeout=30)  # the scheduler keeps retrying meanwhile
        failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(failures) == 1 and "cannot use the run history" in failures[0].getMessage()
        disk.full = False
        wait_for(lambda: jobs.history.job(job).status == "failed")  # after the scheduler's back-off, up to 5 s
        # The scheduler logs its recovery once the tick that recorded the end has returned.
        wait_for(lambda: any("can use the run history again" in r.getMessage() for r in caplog.records))
    assert "stopped unexpectedly" in jobs.history.job(job).message
    after = jobs.submit("ann", "after", [TINY])  # and the queue goes on
    wait_for(lambda: jobs.history.job(after).status == "completed")


def test_a_running_job_whose_worker_is_gone_is_closed_by_stop(manager):
    jobs = manager(max_running=0)  # no worker may take the job between add_job and start_job
    orphan = jobs.history.add_job("ann", "orphan", [TINY])
    jobs.history.start_job(orphan)  # running, yet no worker of this server trains it
    jobs.stop(orphan, owner="ann")
    assert jobs.history.job(orphan).status == "interrupted"


def test_a_student_can_stop_only_their_own_runs(manager):
    jobs = manager(max_running=1)
    jobs.submit("ann", "training", [LONG])
    waiting = jobs.submit("ann", "waiting", [TINY])
    jobs.stop(waiting, owner="bob")  # a queued job is cancelled at once, so this would show at once
    assert jobs.history.job(waiting).status == Status.QUEUED
    jobs.stop(waiting, owner="ann")
    assert jobs.history.job(waiting).status == Status.CANCELLED


def test_a_run_far_beyond_the_time_limit_is_refused_before_it_starts(manager):
    jobs = manager(max_running=1, max_run_seconds=600)
    huge = TrainConfig(dataset="mnist", arch="cnn", batch_size=16, epochs=60)
    with pytest.raises(LimitError, match=r"would take about 1 hour .*at most 10 minutes"):
        jobs.submit("ann", "huge", [huge, replace(huge, dropout=0.5)])
    assert jobs.history.jobs() == []
    preset = PRESETS["Seed experiment"].config
    assert jobs.check_budget([preset, replace(preset, dropout=0.2)]) < 600


def test_a_run_that_outlasts_the_time_limit_stops_there_and_keeps_its_best_epoch(tmp_path, monkeypatch):
    # The run's clock moves 10 ms at each progress report (79 an epoch here), not with this
    # machine's speed: the 2 s limit passes in the third epoch, wherever this runs.
    reports = itertools.count()
    monkeypatch.setattr(job_stream, "time", SimpleNamespace(monotonic=lambda: next(reports) * 0.01))
    history = History(tmp_path / "history.sqlite")
    config = TrainConfig(dataset="mnist", arch="mlp", epochs=50, train_size=5000)
    job = history.add_job("ann", "too long", [config])
    history.start_job(job)
    run_job(history, job, tmp_path / "models", threading.Event(), max_seconds=2.0)
    finished = history.job(job)
    assert finished.status == Status.OUT_OF_TIME and "time limit of 0.0333333 minutes" in finished.message
    (run,) = history.runs(job)
    assert len(history.epochs(run.id)) == 2 and run.best_epoch in (1, 2)
    assert load_checkpoint(run.checkpoint)[1].best_epoch == run.best_epoch


def test_a_damaged_test_split_fails_the_job_before_any_training(manager, tmp_path, monkeypatch):
    data = tmp_path / "data"
    spec = DATASETS["mnist"]
    source, copy = raw_dir(spec, Settings.from_env().data_dir), raw_dir(spec, data)
    copy.mkdir(parents=True)
    for name in spec.sha256:
        (copy / name).symlink_to(source / name)
    damaged = copy / "t10k-labels-idx1-ubyte"
    damaged.unlink()
    damaged.write_bytes(b"\x00" * (source / damaged.name).stat().st_size)
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() != spec.sha256[damaged.name]
    monkeypatch.setenv("MNISTCORE_DATA", str(data))
    jobs = manager(max_running=1)
    job = jobs.submit("ann", "damaged", [TINY])
    wait_for(lambda: not jobs.history.job(job).active)
    failed = jobs.history.job(job)
    assert failed.status == "failed"
    assert "MNIST/raw/t10k-labels-idx1-ubyte in the data folder is damaged" in failed.message
    assert "python -m mnistcore data" in failed.message
    assert jobs.history.epochs(jobs.history.runs(job)[0].id) == []  # it failed before training


def test_a_students_older_runs_give_up_their_weights_and_keep_their_curves(manager):
    jobs = manager(max_running=1, kept_per_owner=2)
    done = []
    for i in range(3):
        done.append(jobs.submit("ann", f"run {i}", [TINY]))
        wait_for(lambda: jobs.history.job(done[-1]).status == "completed")
    other = jobs.submit("bob", "bob's", [TINY])
    wait_for(lambda: jobs.history.job(other).status == "completed")
    jobs.submit("ann", "a fourth", [TINY])  # ann's newest two are now this one and the third
    *older, newest = [jobs.history.runs(job)[0] for job in done]
    for run in older:
        assert run.checkpoint is None and not list(jobs.models_dir.glob(f"{run.name}.*"))
        assert len(jobs.history.epochs(run.id)) == 2  # its curves stay
    for run in (newest, jobs.history.runs(other)[0]):
        assert run.checkpoint and load_checkpoint(run.checkpoint)


def test_a_worker_whose_server_is_gone_exits_without_a_traceback(tmp_path):
    # The server died: nobody reads the worker's answers. It must end, and not fill the log.
    unread, answers = os.pipe()
    os.close(unread)  # before it is warm: its "ready" finds nobody reading
    worker = subprocess.Popen(
        [sys.executable, "-m", "mnistcore.worker", str(tmp_path / "history.sqlite"), str(tmp_path / "models"), "1"],
        stdin=subprocess.PIPE,
        stdout=answers,
        stderr=subprocess.PIPE,
    )
    os.close(answers)
    try:
        _, log = worker.communicate(timeout=120)
    finally:
        worker.kill()
    assert worker.returncode == SERVER_GONE
    assert b"Traceback" not in log and b"BrokenPipeError" not in log, log.decode()
