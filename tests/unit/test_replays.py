"""A run identical to one that finished is replayed from the history, not trained again."""

import time
from pathlib import Path

import pytest

from mnistcore.history import History
from mnistcore.jobs import JobLimits, JobManager
from mnistcore.replays import EPOCH_SECONDS
from mnistcore.status import Status
from mnistcore.training import EpochMetrics, TrainConfig
from tests.conftest import wait_for

ANN, BOB, CAT = (f"{i:016x}" for i in (0xA, 0xB, 0xC))
PAIR = [TrainConfig(dataset="mnist", epochs=3), TrainConfig(dataset="mnist", epochs=3, dropout=0.5)]


@pytest.fixture
def manager(tmp_path):
    # No worker may start: every job here either is finished by hand or is a replay.
    m = JobManager(History(tmp_path / "history.sqlite"), tmp_path / "models", JobLimits(max_running=0))
    yield m
    m.close()


def trained(manager, owner, configs, status=Status.COMPLETED, weights=True, epochs=3):
    """A job as a worker leaves it: every epoch recorded, the best one's weights saved."""
    history = manager.history
    job = history.add_job(owner, "a pair", configs)
    history.start_job(job)
    for run in history.runs(job):
        for epoch in range(1, epochs + 1):
            history.add_epoch(
                run.id, EpochMetrics(run.position, epoch, 1 / epoch, 0.5 + run.position, 0.8, 2.0, epoch == 2)
            )
        path = manager.models_dir / f"{run.name}.pt"
        if weights:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"weights of {run.name}".encode())
            path.with_suffix(".json").write_text("{}")
        history.set_run(run.id, status=status, best_epoch=2, test_accuracy=0.81, checkpoint=str(path))
    history.finish_job(job, status, "Training finished.")
    return job


def test_the_same_settings_again_are_replayed_epoch_by_epoch_with_their_weights(manager):
    source = trained(manager, ANN, PAIR)
    started = time.monotonic()
    job = manager.submit(BOB, "the same pair", PAIR)
    assert manager.replays.source_of(job) == source
    # Started: replaying, or done already if this test was held up longer than the replay lasts.
    wait_for(lambda: manager.job(job).status != Status.QUEUED)
    assert "Replayed from run" in manager.job(job).message
    wait_for(lambda: not manager.job(job).active)
    assert time.monotonic() - started >= 2 * EPOCH_SECONDS  # at a pace a student can watch
    done = manager.job(job)
    assert done.status == Status.COMPLETED and f"Replayed from run {source}" in done.message
    for original, copy in zip(manager.history.runs(source), manager.history.runs(job), strict=True):
        assert manager.history.epochs(copy.id) == manager.history.epochs(original.id)
        assert (copy.best_epoch, copy.test_accuracy, copy.status) == (2, 0.81, Status.COMPLETED)
        assert copy.checkpoint.endswith(f"{copy.name}.pt")
        assert Path(copy.checkpoint).read_bytes() == Path(original.checkpoint).read_bytes()
    assert manager.running() == []  # no worker ever started


@pytest.mark.parametrize(
    "other",
    [
        [PAIR[0]],  # the run without dropout alone
        [PAIR[0], TrainConfig(dataset="mnist", epochs=3, dropout=0.4)],
        [TrainConfig(dataset="mnist", epochs=3, seed=1), TrainConfig(dataset="mnist", epochs=3, dropout=0.5, seed=1)],
    ],
)
def test_other_settings_train(manager, other):
    trained(manager, ANN, PAIR)
    assert manager.replays.source_for(other) is None


def test_a_run_that_did_not_complete_or_lost_its_weights_is_no_source(manager):
    trained(manager, ANN, PAIR, status=Status.STOPPED)
    trained(manager, ANN, PAIR, weights=False)
    assert manager.replays.source_for(PAIR) is None


def test_stopping_a_replay_ends_it(manager):
    trained(manager, ANN, PAIR, epochs=100)  # a replay of 40 s: still going when Stop comes
    job = manager.submit(BOB, "the same pair", PAIR)
    wait_for(lambda: manager.job(job).status == Status.RUNNING)
    manager.stop(job, owner=BOB)
    assert manager.job(job).status == Status.CANCELLED


def epoch(history, job, n):
    for run in history.runs(job):
        history.add_epoch(run.id, EpochMetrics(run.position, n, 1 / n, 0.5 + run.position, 0.8, 2.0, n == 1))
    history.set_job(job, epoch=n, batch=5, batches=10)


def test_the_same_settings_as_a_waiting_run_wait_with_it_then_watch_it_train_live(manager):
    history = manager.history
    source = manager.submit(ANN, "a pair", PAIR)  # waiting: no worker may start here
    follower = manager.submit(BOB, "the same pair", PAIR)
    assert manager.replays.source_of(follower) == source
    for _ in range(3):  # whole passes of the scheduler, not a sleep that hopes one happened
        manager.tick()
        assert manager.job(follower).status == Status.QUEUED
    history.start_job(source)  # as a worker would, epoch by epoch
    epoch(history, source, 1)
    wait_for(lambda: len(history.epochs(history.runs(follower)[0].id)) == 1 and manager.job(follower).batch == 5)
    live = manager.job(follower)
    assert live.status == Status.RUNNING and live.message.startswith(f"Training once for two: run {source}")
    assert (live.epoch, live.batch, live.batches) == (1, 5, 10)  # its bar moves with the source's
    epoch(history, source, 2)
    epoch(history, source, 3)
    for run in history.runs(source):
        path = manager.models_dir / f"{run.name}.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")
        history.set_run(run.id, status=Status.COMPLETED, best_epoch=1, test_accuracy=0.8, checkpoint=str(path))
    history.finish_job(source, Status.COMPLETED, "Training finished.")
    wait_for(lambda: not manager.job(follower).active)
    assert manager.job(follower).status == Status.COMPLETED
    assert [len(history.epochs(r.id)) for r in history.runs(follower)] == [3, 3]
    assert all(Path(r.checkpoint).read_bytes() == b"weights" for r in history.runs(follower))
    assert manager.running() == []


def test_when_the_followed_run_is_stopped_the_follower_trains_itself(manager):
    history = manager.history
    source = manager.submit(ANN, "a pair", PAIR)
    follower = manager.submit(BOB, "the same pair", PAIR)
    history.start_job(source)
    epoch(history, source, 1)
    wait_for(lambda: manager.job(follower).status == Status.RUNNING)
    history.finish_job(source, Status.STOPPED, "Stopped by the user in epoch 2.")  # Ann's Stop costs Bob nothing
    wait_for(lambda: manager.job(follower).status == Status.QUEUED)
    back = manager.job(follower)
    assert back.message == "" and back.started is None and manager.replays.source_of(follower) is None
    assert all(history.epochs(r.id) == [] for r in history.runs(follower))
    assert history.queue() == [follower]  # in its own place, to be trained


def test_a_follower_is_never_followed(manager):
    source = manager.submit(ANN, "a pair", PAIR)
    first = manager.submit(BOB, "the same pair", PAIR)
    second = manager.submit(CAT, "the same pair", PAIR)
    assert manager.replays.source_of(first) == manager.replays.source_of(second) == source


def test_after_a_lesson_is_cleared_a_new_job_follows_nothing_old(manager):
    trained(manager, ANN, PAIR)
    follower = manager.submit(BOB, "the same pair", PAIR)
    wait_for(lambda: not manager.job(follower).active)
    assert manager.forget_ended() == 2
    fresh = manager.submit(CAT, "another", [TrainConfig(dataset="mnist", epochs=2)])
    assert manager.replays.source_of(fresh) is None  # even if SQLite gives it an old id
    assert manager.job(fresh).status == Status.QUEUED  # to be trained, by a worker
