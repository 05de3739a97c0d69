"""The Evaluate page's one heavy step on this CPU: a checkpoint's answers on all 10,000 test
images (``evaluate_split``), for every shipped model; the page caches it per model. Median and
worst of five runs each, the test split already in memory, torch on all cores as the server
runs it. Target: <= 3 s per checkpoint.

    python benchmarks/evaluate_speed.py
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch  # noqa: E402

from mnistcore.catalog import shipped_models  # noqa: E402
from mnistcore.checkpoints import load_checkpoint  # noqa: E402
from mnistcore.data import load_split  # noqa: E402
from mnistcore.evaluation import evaluate_split  # noqa: E402

RUNS = 5


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; target <= 3 s per checkpoint")
    print(f"{'model':<14} {'median':>8} {'worst':>8}  accuracy")
    for entry in shipped_models():
        model, _ = load_checkpoint(entry.path)
        test = load_split(entry.dataset, "test")
        evaluate_split(model, test.images[:2000], test.labels[:2000])  # warm-up
        seconds = []
        for _ in range(RUNS):
            started = time.perf_counter()
            evaluation = evaluate_split(model, test.images, test.labels)
            seconds.append(time.perf_counter() - started)
        print(f"{entry.name:<14} {statistics.median(seconds):7.2f}s {max(seconds):7.2f}s  {evaluation.accuracy:.4f}")


if __name__ == "__main__":
    main()
