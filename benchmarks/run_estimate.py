"""How well the Train page's "this takes about ..." matches runs as the app trains them: each
config is submitted to the JobManager, trained by a worker process and recorded, one after
another; prints the estimate, the measured time from submit to finished, and their ratio.
The class's time limit refuses runs by the estimate and stops them by the clock, so a ratio
near 1 matters more than speed here.

    python -m benchmarks.run_estimate           # about 3 minutes
    python -m benchmarks.run_estimate --long    # and the Seed experiment (2 more minutes)
"""

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mnistcore.budget import estimate_seconds
from mnistcore.history import History
from mnistcore.jobs import JobLimits, JobManager
from mnistcore.presets import PRESETS
from mnistcore.training import TrainConfig


def pair(config: TrainConfig, dropout: float = 0.5) -> list[TrainConfig]:
    return [config, replace(config, dropout=dropout)]


CASES = {
    "Quick overfit (MLP, 1,000 images, 25 epochs)": pair(PRESETS["Quick overfit"].config),
    "logistic regression, 10,000 images, batch 16, 5 epochs": pair(
        TrainConfig(dataset="mnist", arch="logreg", train_size=10_000, batch_size=16, epochs=5)
    ),
    "MLP, 20,000 images, batch 256, augmented, 4 epochs": pair(
        TrainConfig(dataset="mnist", arch="mlp", train_size=20_000, batch_size=256, epochs=4, augment=True)
    ),
    "CNN, 5,000 images, batch 64, 3 epochs": pair(
        TrainConfig(dataset="fashion", arch="cnn", train_size=5_000, epochs=3)
    ),
    "CNN, 2,000 images, batch 16, 3 epochs, without dropout only": [
        TrainConfig(dataset="mnist", arch="cnn", train_size=2_000, batch_size=16, epochs=3)
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="also the Seed experiment")
    cases = dict(CASES)
    if parser.parse_args().long:
        cases["Seed experiment (MLP, 50,000 images, 30 epochs)"] = pair(PRESETS["Seed experiment"].config, 0.2)
    limits = JobLimits()
    print(f"{'run':60s} {'estimate':>9s} {'measured':>9s} {'ratio':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        manager = JobManager(History(Path(tmp) / "history.sqlite"), Path(tmp) / "models", limits)
        try:
            ratios = []
            for name, configs in cases.items():
                estimate = estimate_seconds(configs, limits.threads_per_job)
                started = time.perf_counter()
                job = manager.submit("bench", name, configs)
                while manager.history.job(job).active:
                    time.sleep(0.25)
                measured = time.perf_counter() - started
                status = manager.history.job(job).status
                ratios.append(measured / estimate)
                print(
                    f"{name:60s} {estimate:8.1f}s {measured:8.1f}s {measured / estimate:6.2f}"
                    + ("" if status == "completed" else f"  ({status})"),
                    flush=True,
                )
            ratios.sort()
            print(
                f"measured / estimate: median {ratios[len(ratios) // 2]:.2f}, from {ratios[0]:.2f} to {ratios[-1]:.2f}"
            )
        finally:
            manager.close()


if __name__ == "__main__":
    main()
