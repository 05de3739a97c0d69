"""Training on a Ray cluster, for a class one machine cannot carry. The server names the
cluster in ``MNISTCORE_RAY_ADDRESS``; each machine joins it with ``ray start --address=...``,
installed from the same requirements.txt. Nothing else changes: the pages, the queue and the
run history are the server's, as without Ray.

Each job is a Ray streaming generator task: ``job_events`` runs on a cluster machine and its
events come back one by one to the server, which records them with ``record_job`` as a local
worker does, the checkpoint from the last event. The code travels as a Ray ``py_module`` and the
datasets through Ray's object store (the server reads them once), so a machine needs neither.
A student's Stop reaches the task through a small actor it asks every STOP_POLL_SECONDS; a
worker or machine lost mid-run ends its run failed, saying so, as soon as Ray reports it.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import ray
import torch

from .data import load_split
from .errors import MnistcoreError
from .history import History
from .job_stream import JobEvent, job_events, record_job, recorded
from .training import TrainConfig, TrainData

log = logging.getLogger(__name__)

STOP_POLL_SECONDS = 0.2
CAPACITY_SECONDS = 2.0  # how long the cluster's size is taken as known (machines join and leave)
PACKAGE = Path(__file__).resolve().parent


class WorkerLost(MnistcoreError):
    pass


class ClusterUnreachable(MnistcoreError):
    pass


@ray.remote(num_cpus=0)
class StopRequests:
    """The jobs whose students pressed Stop, as the cluster's tasks ask."""

    def __init__(self):
        self.jobs: set[int] = set()

    def stop(self, job_id: int) -> None:
        self.jobs.add(job_id)

    def forget(self, job_id: int) -> None:
        self.jobs.discard(job_id)

    def stopped(self, job_id: int) -> bool:
        return job_id in self.jobs


@ray.remote(max_retries=0)
def train_on_cluster(
    job_id: int,
    configs: Sequence[TrainConfig],
    data: TrainData,
    threads: int,
    max_seconds: float,
    stop_requests,
) -> Iterator[JobEvent]:
    torch.set_num_threads(threads)
    stop = threading.Event()

    def watch_for_stop():
        while not stop.is_set():
            if ray.get(stop_requests.stopped.remote(job_id)):
                stop.set()
            stop.wait(STOP_POLL_SECONDS)

    threading.Thread(target=watch_for_stop, daemon=True).start()
    try:
        if configs[0].train_size is not None:
            data = TrainData(data.train.subset(torch.arange(configs[0].train_size)), data.val)
        yield from job_events(configs, stop, max_seconds, data)
    finally:
        stop.set()  # the watcher's end


class RayWorkers:
    """The JobManager's workers (see worker_pool.py for the local ones), on a Ray cluster: a
    thread on the server per job, recording what the cluster streams back."""

    def __init__(self, address: str, history: History, models_dir: Path, threads: int):
        try:
            _check_answers(address)
            ray.init(
                address=address,
                runtime_env={"py_modules": [str(PACKAGE)]},
                logging_level=logging.WARNING,
                ignore_reinit_error=True,
            )
        except Exception as exc:  # a wrong address, a cluster that is down or of another Ray version
            log.error("Could not join the Ray cluster at %s: %s", address, exc)
            raise ClusterUnreachable(
                "The Ray cluster named in MNISTCORE_RAY_ADDRESS does not answer, so no run can train. "
                "Tell your teacher."
            ) from None
        self.history_path = history.path
        self.models_dir = models_dir
        self.threads = threads
        self.stop_requests = StopRequests.remote()
        self._datasets: dict[str, ray.ObjectRef] = {}
        self._jobs: dict[int, threading.Thread] = {}
        self._ended: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        self._capacity = (0.0, 0)  # (when measured, jobs at once)

    def _dataset(self, name: str) -> ray.ObjectRef:
        """The dataset's training and validation splits in the object store, put there once."""
        with self._lock:
            if name not in self._datasets:
                self._datasets[name] = ray.put(TrainData(load_split(name, "train"), load_split(name, "val")))
            return self._datasets[name]

    def start(self, job_id: int, max_seconds: float) -> bool:
        thread = threading.Thread(target=self._train, args=(job_id, max_seconds), name=f"mnistcore-ray-{job_id}")
        with self._lock:
            self._jobs[job_id] = thread
        thread.start()
        return True

    def _train(self, job_id: int, max_seconds: float) -> None:
        def train_and_record(history: History) -> None:
            configs = [run.config for run in history.runs(job_id)]
            test = load_split(configs[0].dataset, "test")  # now: a damaged file fails before training
            data = self._dataset(configs[0].dataset)
            events = train_on_cluster.options(num_cpus=self.threads).remote(
                job_id, configs, data, self.threads, max_seconds, self.stop_requests
            )
            record_job(history, job_id, self.models_dir, _arrived(events), test)

        code = recorded(self.history_path, job_id, train_and_record)
        self.stop_requests.forget.remote(job_id)
        with self._lock:
            del self._jobs[job_id]
            self._ended.append((job_id, code))

    def stop(self, job_id: int) -> bool:
        with self._lock:
            if job_id not in self._jobs:
                return False
        self.stop_requests.stop.remote(job_id)
        return True

    def collect(self) -> list[tuple[int, int]]:
        with self._lock:
            ended, self._ended = self._ended, []
        return ended

    def busy(self) -> list[int]:
        with self._lock:
            return list(self._jobs)

    def free_slots(self, max_running: int) -> int:
        """On a cluster its CPUs decide, not the server's own setting: each machine that joins
        adds runs."""
        measured, capacity = self._capacity
        if time.monotonic() - measured > CAPACITY_SECONDS:
            capacity = math.floor(ray.cluster_resources().get("CPU", 0) / self.threads)  # 0: wait for a machine
            self._capacity = (time.monotonic(), capacity)
        return capacity - len(self.busy())

    def pid(self, job_id: int) -> int | None:
        return None  # the process is on a cluster machine

    def resize(self, size: int) -> None:
        pass  # the cluster's size is the machines'

    def close(self, timeout: float) -> None:
        for job_id in self.busy():
            self.stop_requests.stop.remote(job_id)
        with self._lock:
            threads = list(self._jobs.values())
        for thread in threads:
            thread.join(timeout)
        ray.shutdown()


def _check_answers(address: str, seconds: float = 3.0) -> None:
    """Ray waits minutes for an address that does not answer, and the page with it: fail fast."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"not host:port: {address!r}")
    socket.create_connection((host, int(port)), timeout=seconds).close()


def _arrived(events) -> Iterator[JobEvent]:
    """The task's events as they arrive; a lost worker or machine as a message for the class."""
    try:
        for ref in events:
            yield ray.get(ref)
    except ray.exceptions.RayError as exc:
        log.warning("A Ray task failed: %s", exc)
        raise WorkerLost(
            "The machine training this run stopped answering, so the run ended here. Run it again; "
            "if it happens again, tell your teacher."
        ) from None
