"""The job manager with real worker processes on the real datasets: queueing, the cap, stop,
a crashing or killed worker, and recovery after a server restart."""

import os
import signal
from dataclasses import replace

import numpy as np
import pytest
import torch

from mnistcore.catalog import Catalog
from mnistcore.checkpoints import load_checkpoint
from mnistcore.errors import LimitError
from mnistcore.history import History
from mnistcore.jobs import JobLimits, JobManager, QueueFull
from mnistcore.snapshots import load_snapshots, replay
from mnistcore.status import Status
from mnistcore.training import EpochMetrics, TrainConfig
from tests.conftest import wait_for
from tests.integration.conftest import TINY

LONG = TrainConfig(dataset="mnist", arch="mlp", epochs=50)  # minutes of training: still going when a test acts


def test_jobs_queue_behind_the_cap_and_all_finish(manager):
    jobs = manager(max_running=1)
    ids = [jobs.submit("ann", f"job {i}", [replace(TINY, seed=i)]) for i in range(3)]
    most_running = 0

    def all_finished() -> bool:
        nonlocal most_running
        running = [i for i in ids if jobs.history.job(i).status == Status.RUNNING]
        most_running = max(most_running, len(running))
        waiting = jobs.history.queue()  # one read: a job that starts meanwhile cannot skew it
        assert waiting == sorted(waiting) and set(waiting) <= set(ids)  # first come, first served
        return not any(jobs.history.job(i).active for i in ids)

    wait_for(all_finished)
    assert most_running == 1
    started = [jobs.history.job(i).started for i in ids]
    assert started == sorted(started)
    for i in ids:
        assert jobs.history.job(i).status == "completed"
        (run,) = jobs.history.runs(i)
        assert [e["epoch"] for e in jobs.history.epochs(run.id)] == [1, 2]
        assert run.test_accuracy > 0.6
        model, card = load_checkpoint(run.checkpoint)
        assert card.best_epoch == run.best_epoch


def test_a_small_run_keeps_a_snapshot_per_epoch_and_saving_it_keeps_them(manager, tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path / "runs"))
    jobs = manager(max_running=1)
    job = jobs.submit("ann", "small", [TINY])
    wait_for(lambda: not jobs.history.job(job).active)
    (run,) = jobs.history.runs(job)
    assert sorted(load_snapshots(run.checkpoint, load_checkpoint(run.checkpoint)[1])) == [1, 2]
    entry = Catalog(tmp_path / "runs" / "saved", jobs.history).save(run.checkpoint, "my-logreg", owner="ann")
    snapshots = load_snapshots(entry.path, entry.card)
    epochs, probabilities = replay(entry.card, snapshots, torch.rand(1, 1, 28, 28))
    assert epochs == [1, 2] and probabilities.shape == (2, 10)
    assert not np.allclose(probabilities[0], probabilities[1])  # it learned between the epochs


def test_runs_train_on_workers_warmed_before_anyone_pressed_train(manager):
    jobs = manager(max_running=2, threads_per_job=1)
    wait_for(jobs.workers.warm, timeout=60)
    warmed = set(jobs.workers.pids())
    assert len(warmed) == 2
    long = LONG
    submitted = [jobs.submit(owner, "long", [replace(long, seed=i)]) for i, owner in enumerate(("ann", "bob"))]
    trained_on = {wait_for(lambda job=job: jobs.workers.pid(job)) for job in submitted}
    for job in submitted:
        jobs.stop(job)
    wait_for(lambda: not any(jobs.history.job(job).active for job in submitted))
    assert trained_on == warmed
    assert set(jobs.workers.pids()) == warmed  # still there, warm for the next runs
    jobs.set_max_running(1)  # the teacher's choice: one worker goes, one stays
    (staying,) = wait_for(lambda: len(jobs.workers.pids()) == 1 and jobs.workers.pids())
    jobs.set_max_running(2)
    wait_for(jobs.workers.warm, timeout=60)
    assert staying in jobs.workers.pids() and len(jobs.workers.pids()) == 2


def test_a_pair_trains_in_lockstep_and_each_session_sees_its_own(manager):
    jobs = manager(max_running=2)
    pair = jobs.submit("ann", "pair", [TINY, replace(TINY, dropout=0.5)])
    other = jobs.submit("bob", "solo", [TINY])
    wait_for(lambda: not jobs.history.job(pair).active and not jobs.history.job(other).active)
    assert [j.id for j in jobs.history.jobs(owner="ann")] == [pair]
    assert [j.id for j in jobs.history.jobs(owner="bob")] == [other]
    labels = [r.label for r in jobs.history.runs(pair)]
    assert labels == ["without dropout", "with dropout 0.5"]


def test_stop_ends_a_run_promptly_and_keeps_its_best_epoch(manager):
    jobs = manager(max_running=1)
    job = jobs.submit("ann", "long", [LONG])
    run = jobs.history.runs(job)[0]
    wait_for(lambda: len(jobs.history.epochs(run.id)) >= 1 and jobs.history.job(job).batch > 0)
    asked_in = jobs.history.job(job).epoch
    jobs.stop(job)
    wait_for(lambda: not jobs.history.job(job).active, timeout=30)
    stopped = jobs.history.job(job)
    assert stopped.status == Status.STOPPED
    # At its next batch: in the epoch it was asked in, or the next if that one had just ended.
    assert stopped.message in (f"Stopped by the user in epoch {e}." for e in (asked_in, asked_in + 1))
    run = jobs.history.runs(job)[0]
    assert run.status == "stopped" and run.best_epoch >= 1 and len(jobs.history.epochs(run.id)) < 50
    load_checkpoint(run.checkpoint)


def test_a_queued_job_can_be_cancelled(manager):
    jobs = manager(max_running=1)
    first = jobs.submit("ann", "first", [TINY])
    second = jobs.submit("ann", "second", [replace(TINY, seed=1)])
    jobs.stop(second)
    assert jobs.history.job(second).status == "cancelled"
    wait_for(lambda: jobs.history.job(first).status == "completed")
    assert jobs.history.job(second).status == "cancelled"


def test_a_diverging_run_fails_with_a_reason(manager):
    jobs = manager(max_running=1)
    job = jobs.submit("ann", "lr 10", [TrainConfig(dataset="mnist", arch="mlp", epochs=3, lr=10.0, train_size=2000)])
    wait_for(lambda: not jobs.history.job(job).active)
    j = jobs.history.job(job)
    assert j.status == "diverged" and "learning rate 10 is too high" in j.message


def test_a_killed_worker_is_reported_replaced_by_a_warm_one_and_the_queue_goes_on(manager):
    jobs = manager(max_running=1)
    doomed = jobs.submit("ann", "doomed", [LONG])
    wait_for(lambda: jobs.history.job(doomed).batch > 0)
    worker = jobs.workers.pid(doomed)
    # Training yields to the class's strokes: the worker runs below the server's priority.
    assert os.getpriority(os.PRIO_PROCESS, worker) >= os.getpriority(os.PRIO_PROCESS, 0) + 10
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: not jobs.history.job(doomed).active, timeout=10)
    assert jobs.history.job(doomed).status == "failed"
    assert "stopped unexpectedly" in jobs.history.job(doomed).message
    (replacement,) = wait_for(lambda: jobs.workers.pids(), timeout=10)
    assert replacement != worker
    after = jobs.submit("ann", "after", [LONG])
    assert wait_for(lambda: jobs.workers.pid(after)) == replacement  # a long run: still training when asked
    jobs.stop(after)
    wait_for(lambda: jobs.history.job(after).status == "stopped")


def test_a_worker_that_cannot_load_its_data_fails_with_the_fix(manager, tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_DATA", str(tmp_path / "no-data"))
    jobs = manager(max_running=1)
    job = jobs.submit("ann", "no data", [TINY])
    wait_for(lambda: not jobs.history.job(job).active)
    assert jobs.history.job(job).status == "failed"
    assert "python -m mnistcore data" in jobs.history.job(job).message


def test_each_student_may_queue_only_a_few_runs(manager):
    jobs = manager(max_running=1, max_queued_per_owner=2)
    jobs.submit("ann", "running", [LONG])
    wait_for(lambda: jobs.running())
    jobs.submit("ann", "1", [replace(TINY, seed=1)])
    jobs.submit("ann", "2", [replace(TINY, seed=2)])
    with pytest.raises(QueueFull, match="already have 2 runs waiting"):
        jobs.submit("ann", "3", [replace(TINY, seed=3)])
    jobs.submit("bob", "bob's", [TINY])  # another student is not blocked


def test_a_repeated_click_does_not_queue_the_same_run_twice(manager):
    jobs = manager(max_running=1)
    long = LONG
    first = jobs.submit("ann", "long", [long])
    with pytest.raises(LimitError, match=f"already (training|waiting in the queue): run {first},"):
        jobs.submit("ann", "long again", [long])
    assert jobs.same_as_active("ann", [long]).id == first
    other = jobs.submit("bob", "bob's long", [long])  # accepted from another student: it follows Ann's
    jobs.stop(first, owner="ann")
    jobs.stop(other, owner="bob")
    wait_for(lambda: not jobs.history.job(first).active)
    assert jobs.same_as_active("ann", [long]) is None
    jobs.stop(jobs.submit("ann", "long, once more", [long]))  # once it ended, the same run may train again


def test_a_restarted_server_marks_interrupted_runs_and_keeps_finished_ones(tmp_path):
    history = History(tmp_path / "history.sqlite")
    done = history.add_job("ann", "done", [TINY])
    history.start_job(done)
    run = history.runs(done)[0]
    history.add_epoch(run.id, EpochMetrics(0, 1, 0.5, 0.4, 0.9, 1.0, True))
    history.set_run(run.id, status="completed", best_epoch=1, checkpoint="x.pt")
    history.finish_job(done, "completed", "Training finished.")
    dead = history.add_job("ann", "was training", [TINY])
    history.start_job(dead)
    waiting = history.add_job("ann", "was waiting", [TINY])

    manager = JobManager(History(tmp_path / "history.sqlite"), tmp_path / "models", JobLimits(max_running=1))
    try:
        assert manager.history.job(dead).status == "interrupted"
        assert manager.history.runs(dead)[0].status == "interrupted"
        assert manager.history.job(done).status == "completed"
        assert manager.history.runs(done)[0].checkpoint == "x.pt"
        assert len(manager.history.epochs(run.id)) == 1
        wait_for(lambda: manager.history.job(waiting).status == "completed")  # the queue survives
    finally:
        manager.close()


def test_stop_while_the_worker_is_still_starting_counts_as_stopped(manager):
    jobs = manager(max_running=1)
    job = jobs.submit("ann", "impatient", [LONG])  # minutes of training: it cannot finish first
    wait_for(lambda: jobs.running())
    jobs.stop(job)  # the worker may still be warming up (importing torch, reading the data)
    wait_for(lambda: not jobs.history.job(job).active)
    assert jobs.history.job(job).status == "stopped"


def test_a_run_the_teacher_stops_or_cancels_tells_its_student_so(manager):
    jobs = manager(max_running=1)
    training = jobs.submit("ann", "long", [LONG])
    waiting = jobs.submit("bob", "waits", [TINY])
    wait_for(lambda: jobs.history.job(training).batch > 0)
    jobs.stop(waiting, by_teacher=True)
    assert jobs.history.job(waiting).message == "Your teacher cancelled it before it started."
    jobs.stop(training, by_teacher=True)
    wait_for(lambda: jobs.history.job(training).message == "Your teacher stopped this run.", timeout=30)
    assert jobs.history.job(training).status == Status.STOPPED
    assert jobs.set_max_running(2) == 2 and jobs.limits.max_running == 2


def test_training_is_deterministic_across_workers_so_a_finished_run_can_be_replayed(manager):
    jobs = manager(max_running=2, threads_per_job=1)
    # Added past submit, which would have the second follow the first rather than train it again.
    first, second = (jobs.history.add_job(owner, "tiny", [TINY]) for owner in ("ann", "bob"))
    wait_for(lambda: not jobs.history.job(first).active and not jobs.history.job(second).active)
    a, b = (jobs.history.runs(j)[0] for j in (first, second))
    assert jobs.history.epochs(a.id) and [
        {k: v for k, v in e.items() if k != "seconds"} for e in jobs.history.epochs(a.id)
    ] == [{k: v for k, v in e.items() if k != "seconds"} for e in jobs.history.epochs(b.id)]

    third = jobs.submit("cat", "tiny", [TINY])  # the same again, now that one finished
    assert jobs.replays.source_of(third) in (first, second)
    wait_for(lambda: not jobs.history.job(third).active)
    replayed = jobs.history.runs(third)[0]
    assert jobs.history.job(third).status == Status.COMPLETED
    model, card = load_checkpoint(replayed.checkpoint)
    assert card.test_accuracy == replayed.test_accuracy
    assert [e["val_loss"] for e in jobs.history.epochs(replayed.id)] == [
        e["val_loss"] for e in jobs.history.epochs(a.id)
    ]
