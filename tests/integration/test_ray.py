"""Training on a real local Ray cluster (``ray start --head``, started and stopped here), through
the job manager as the app runs it with MNISTCORE_RAY_ADDRESS: runs train and record as on the
server's own workers, Stop keeps the best epoch, and a killed Ray worker fails only its run."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from mnistcore.checkpoints import load_checkpoint
from mnistcore.history import History
from mnistcore.jobs import JobLimits, JobManager
from mnistcore.ray_workers import ClusterUnreachable
from mnistcore.status import Status
from mnistcore.training import TrainConfig, run_to_end, train
from tests.conftest import wait_for
from tests.integration.conftest import TINY

RAY = str(Path(sys.executable).with_name("ray"))
LONG = TrainConfig(dataset="mnist", arch="mlp", epochs=50, train_size=5000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A one-machine Ray cluster with room for two runs at once; its address."""
    port = free_port()
    start = [RAY, "start", "--head", f"--port={port}", "--num-cpus=4", "--include-dashboard=false"]
    start += ["--disable-usage-stats", "--object-store-memory=400000000"]
    subprocess.run(start, check=True, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)


@pytest.fixture
def ray_manager(cluster, tmp_path):
    manager = JobManager(
        History(tmp_path / "history.sqlite"), tmp_path / "models", JobLimits(threads_per_job=2), ray_address=cluster
    )
    yield manager
    manager.close()


def cluster_tasks() -> list[int]:
    """The processes of this cluster now training a job."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "ray::train_on_cluster" in line]


def test_a_pair_trains_on_the_cluster_and_records_like_a_local_worker(ray_manager):
    pair = [replace(TINY, arch="mlp"), replace(TINY, arch="mlp", dropout=0.5)]
    job = ray_manager.submit("ann", "on ray", pair)
    wait_for(lambda: not ray_manager.history.job(job).active, timeout=180)
    assert ray_manager.history.job(job).status == Status.COMPLETED
    here = run_to_end(train(pair))  # the same pair trained in this process: the same curves
    for row, result in zip(ray_manager.history.runs(job), here.results, strict=True):
        epochs = ray_manager.history.epochs(row.id)
        # The same kernels on both sides, the sums perhaps split among another number of threads:
        # rounding apart, about 1e-6 after these 20 steps (see tests/unit/test_stacked.py).
        assert [e["val_loss"] for e in epochs] == pytest.approx([m.val_loss for m in result.history], rel=1e-4)
        model, card = load_checkpoint(row.checkpoint)  # the weights came back in the last event
        assert card.best_epoch == row.best_epoch and card.test_accuracy == row.test_accuracy > 0.5
        assert Path(row.checkpoint).with_suffix(".epochs.pt").exists()  # the Inside page's snapshots too


def test_stop_on_the_cluster_ends_the_run_at_its_next_batch_and_keeps_its_best_epoch(ray_manager):
    job = ray_manager.submit("ann", "long", [LONG])
    wait_for(lambda: ray_manager.history.epochs(ray_manager.history.runs(job)[0].id), timeout=180)
    asked_in = ray_manager.history.job(job).epoch
    ray_manager.stop(job, owner="ann")
    wait_for(lambda: not ray_manager.history.job(job).active, timeout=30)
    stopped = ray_manager.history.job(job)
    assert stopped.status == Status.STOPPED
    # The cluster's epochs reach the history after the cluster has gone on, and Stop reaches the
    # cluster at its next poll: stopped in the epoch asked in or a later one, long before the 50th.
    stopped_in = int(re.fullmatch(r"Stopped by the user in epoch (\d+)\.", stopped.message).group(1))
    assert asked_in <= stopped_in < LONG.epochs
    (run,) = ray_manager.history.runs(job)
    assert run.best_epoch >= 1 and load_checkpoint(run.checkpoint)[1].best_epoch == run.best_epoch


def test_a_killed_ray_worker_fails_its_run_in_seconds_and_the_queue_goes_on(ray_manager):
    doomed = ray_manager.submit("ann", "doomed", [LONG])
    wait_for(lambda: ray_manager.history.job(doomed).batch > 0, timeout=180)
    (task,) = cluster_tasks()
    os.kill(task, signal.SIGKILL)
    wait_for(lambda: not ray_manager.history.job(doomed).active, timeout=30)
    failed = ray_manager.history.job(doomed)
    assert failed.status == Status.FAILED and "stopped answering" in failed.message
    after = ray_manager.submit("bob", "after", [TINY])
    wait_for(lambda: not ray_manager.history.job(after).active, timeout=180)
    assert ray_manager.history.job(after).status == Status.COMPLETED


def test_a_cluster_that_does_not_answer_is_reported_in_seconds(tmp_path):
    started = time.monotonic()
    with pytest.raises(ClusterUnreachable, match="MNISTCORE_RAY_ADDRESS does not answer"):
        JobManager(History(tmp_path / "history.sqlite"), tmp_path / "models", ray_address=f"127.0.0.1:{free_port()}")
    assert time.monotonic() - started < 10
