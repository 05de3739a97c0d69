"""The Train page's Seed experiment preset (the MLP on full Fashion-MNIST, 30 epochs, with and
without dropout in lockstep) as the app runs it: submitted to the JobManager, trained in a
warm worker process, every epoch written to the run history. Prints the wall time from submit to
the first progress and to the saved checkpoints, the time per epoch, and how long Stop takes on a
second run.
Target: the preset finishes in <= 90 s on this 2-core machine.

    python -m benchmarks.seed_experiment
"""

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mnistcore.data import prepare
from mnistcore.history import History
from mnistcore.jobs import JobLimits, JobManager
from mnistcore.presets import PRESETS


def wait(history: History, job_id: int, until) -> None:
    while not until(history.job(job_id)):
        time.sleep(0.25)  # a watching page polls once a second; this is finer, not busier


def main() -> None:
    prepare("fashion")
    preset = PRESETS["Seed experiment"]
    configs = [preset.config, replace(preset.config, dropout=preset.dropout)]
    with tempfile.TemporaryDirectory() as tmp:
        limits = JobLimits()
        manager = JobManager(History(Path(tmp) / "history.sqlite"), Path(tmp) / "models", limits)
        try:
            while not manager.workers.warm():  # the server was up before the class pressed Train
                time.sleep(0.1)
            started = time.perf_counter()
            job_id = manager.submit("bench", "seed experiment", configs)
            wait(manager.history, job_id, lambda j: j.batch > 0 or not j.active)
            first_progress = time.perf_counter() - started
            wait(manager.history, job_id, lambda j: not j.active)
            total = time.perf_counter() - started
            job = manager.history.job(job_id)
            runs = manager.history.runs(job_id)
            epochs = manager.history.epochs(runs[0].id)
            per_epoch = [e["seconds"] for e in epochs]
            print(f"{limits.max_running} job(s) at once, {limits.threads_per_job} threads each")
            print(f"Submit to the first progress on the page's bar: {first_progress:.2f} s (a warm worker)")
            print(
                f"Seed experiment: {job.status}, {len(epochs)} epochs x {len(runs)} models in "
                f"{total:.1f} s from submit to saved checkpoints  (target <= 90 s)"
            )
            print(
                f"  per lockstep epoch: median {sorted(per_epoch)[len(per_epoch) // 2]:.2f} s, "
                f"max {max(per_epoch):.2f} s; the rest {total - sum(per_epoch):.1f} s "
                f"(start, validation, test evaluation, saving)"
            )
            for run in runs:
                print(f"  {run.label}: best epoch {run.best_epoch}, test accuracy {run.test_accuracy:.4f}")

            # Another seed: the same settings again would be replayed from the run above, not trained.
            job_id = manager.submit("bench", "stop me", [replace(c, seed=1) for c in configs])
            wait(manager.history, job_id, lambda j: j.status == "running" and j.epoch >= 2)
            asked = time.perf_counter()
            manager.stop(job_id)
            wait(manager.history, job_id, lambda j: not j.active)
            print(
                f"Stop: the job ended {time.perf_counter() - asked:.2f} s after Stop, best weights saved "
                f"(status {manager.history.job(job_id).status})"
            )
        finally:
            manager.close()


if __name__ == "__main__":
    main()
