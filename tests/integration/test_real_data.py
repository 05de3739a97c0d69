"""On the real datasets, which setup prepares (`python -m mnistcore data`). Missing data fails
these tests: it never skips them."""

import json
import subprocess
import sys

import pytest
import torch
from PIL import Image

from mnistcore.data import DATASETS, load_split, problems
from mnistcore.evaluation import as_input
from mnistcore.preprocess import prepare_drawing
from mnistcore.training import TrainConfig, run_to_end, train


@pytest.mark.parametrize("name", DATASETS)
def test_dataset_is_prepared_verified_and_split_50000_10000_10000(name):
    assert problems(DATASETS[name]) == []
    train_split, val, test = (load_split(name, s) for s in ("train", "val", "test"))
    assert (len(train_split), len(val), len(test)) == (50_000, 10_000, 10_000)
    assert train_split.images.dtype == torch.uint8 and train_split.images.shape[1:] == (28, 28)
    # train and val partition the 60,000 training images: together they have its label counts
    full = torch.cat([train_split.labels, val.labels]).bincount(minlength=10)
    assert full.sum() == 60_000 and full.min() >= 5_000
    # the split is fixed: the same images every time
    assert torch.equal(load_split(name, "val").images[:100], val.images[:100])


def test_one_epoch_of_the_tutorials_mlp_on_fashion_learns():
    run = run_to_end(train(TrainConfig(dataset="fashion", arch="mlp", epochs=1))).results[0]
    assert run.best_val_accuracy > 0.8


def cli(*args):
    return subprocess.run([sys.executable, "-m", "mnistcore", *args], capture_output=True, text=True, timeout=600)


def test_cli_train_evaluate_predict_on_mnist(tmp_path):
    ckpt = tmp_path / "logreg.pt"
    done = cli(
        "train",
        "--dataset",
        "mnist",
        "--arch",
        "logreg",
        "--epochs",
        "2",
        "--train-size",
        "10000",
        "--json",
        "--out",
        str(ckpt),
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    epochs = [line for line in lines if "epoch" in line]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert {"epoch", "train_loss", "val_loss", "val_accuracy", "seconds"} <= epochs[0].keys()
    assert ckpt.exists() and ckpt.with_suffix(".json").exists()

    done = cli("evaluate", str(ckpt), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["accuracy"] > 0.88 and result["loss"] < 0.5
    assert result["accuracy"] == pytest.approx(lines[-1]["summary"]["test_accuracy"])

    # Real test digits as image files, one of them inverted (black on white), and a blank one.
    test = load_split("mnist", "test")
    files = []
    for i in range(3):
        pixels = test.images[i].numpy()
        if i == 1:
            pixels = 255 - pixels
        files.append(tmp_path / f"digit{i}.png")
        Image.fromarray(pixels).resize((280, 280)).save(files[-1])
    files.append(tmp_path / "blank.png")
    Image.new("L", (280, 280), 255).save(files[-1])
    done = cli("predict", str(ckpt), *map(str, files))
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["label"] for a in answers] == [*test.labels[:3].tolist(), None]
    assert all(len(a["probabilities"]) == 10 for a in answers)
    assert sum(answers[0]["probabilities"]) == pytest.approx(1.0, abs=1e-4)


def test_cli_trains_the_train_pages_pair_in_lockstep(tmp_path):
    out = tmp_path / "pair.pt"
    args = ["--dataset", "mnist", "--arch", "mlp", "--epochs", "2", "--train-size", "2000", "--batch-size", "100"]
    done = cli("train", *args, "--compare-dropout", "0.5", "--json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    epochs, summary = lines[:-1], lines[-1]["summary"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert [r["run"] for r in epochs[0]["runs"]] == ["without dropout", "with dropout 0.5"]
    assert epochs[0]["seconds"] > 0 and {"train_loss", "val_loss", "val_accuracy"} <= epochs[0]["runs"][1].keys()
    saved = [r["checkpoint"] for r in summary["runs"]]
    assert saved == [str(tmp_path / "pair-d0.pt"), str(tmp_path / "pair-d0.5.pt")]
    assert all((tmp_path / name).exists() for name in ("pair-d0.pt", "pair-d0.5.pt"))

    # The same pair through the trainer as the Train page runs it: the very same curves.
    page = TrainConfig(dataset="mnist", arch="mlp", epochs=2, train_size=2000, batch_size=100)
    result = run_to_end(train([page, TrainConfig(**{**page.__dict__, "dropout": 0.5})]))
    for i, run in enumerate(result.results):
        assert [round(m.val_loss, 5) for m in run.history] == [round(e["runs"][i]["val_loss"], 5) for e in epochs]


def test_mnist_test_digits_survive_the_drawing_recipe():
    # An MNIST digit is already cropped, boxed and centred: the recipe should barely move it.
    test = load_split("mnist", "test")
    x = as_input(test.images[:200])
    redone = torch.cat([prepare_drawing(img[0].numpy()) for img in x])
    similarity = torch.nn.functional.cosine_similarity(redone.flatten(1), x.flatten(1))
    assert similarity.quantile(0.1) > 0.95


def test_cli_reports_missing_data_with_the_fix(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mnistcore", "train", "--epochs", "1"],
        capture_output=True,
        text=True,
        env={"MNISTCORE_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert done.returncode == 1
    assert "is missing. The teacher can fix it with: python -m mnistcore data" in done.stderr
    assert "Traceback" not in done.stderr
