"""The Evaluate page's one heavy step on this CPU: a checkpoint's answers on all 10,000 test
images (``evaluate``), for every shipped model; the page caches it per model. Median and
worst of five runs each, the test split already in memory, torch on all cores as the server
runs it. Target: <= 3 s per checkpoint.

    python -m benchmarks.evaluate_speed
"""

import statistics
import time

import torch

from mnistcore.catalog import shipped_models
from mnistcore.checkpoints import load_checkpoint
from mnistcore.data import load_split
from mnistcore.evaluation import evaluate

RUNS = 5


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; target <= 3 s per checkpoint")
    print(f"{'model':<14} {'median':>8} {'worst':>8}  accuracy")
    for entry in shipped_models():
        model, _ = load_checkpoint(entry.path)
        test = load_split(entry.dataset, "test")
        evaluate(model, test.images[:2000], test.labels[:2000])  # warm-up
        seconds = []
        for _ in range(RUNS):
            started = time.perf_counter()
            evaluation = evaluate(model, test.images, test.labels)
            seconds.append(time.perf_counter() - started)
        print(f"{entry.name:<14} {statistics.median(seconds):7.2f}s {max(seconds):7.2f}s  {evaluation.accuracy:.4f}")


if __name__ == "__main__":
    main()
