import contextlib
import io
import json
import random
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from mnistcore import checkpoints
from mnistcore.checkpoints import card_path, load_checkpoint, make_card, save_checkpoint, save_run
from mnistcore.errors import CheckpointError, DatasetError
from mnistcore.snapshots import load_snapshots
from mnistcore.training import TrainConfig, run_to_end, train


@pytest.fixture(scope="module")
def trained():
    from mnistcore.training import TrainData
    from tests.conftest import synthetic_split

    data = TrainData(synthetic_split(320, seed=1), synthetic_split(100, seed=2))
    config = TrainConfig(dataset="mnist", arch="cnn", dropout=0.25, epochs=2, batch_size=32)
    return run_to_end(train(config, data=data)).results[0], data


def test_round_trip_gives_the_same_predictions_and_the_card(tmp_path, trained):
    result, data = trained
    path = save_checkpoint(
        tmp_path / "m.pt", result.model, replace(make_card(result, name="m"), test_loss=0.5, test_accuracy=0.9)
    )
    model, card = load_checkpoint(path)
    x = data.val.images[:16].unsqueeze(1).float() / 255
    assert torch.allclose(model(x), result.model.eval().cpu()(x))  # trained on whatever device there is
    assert not model.training
    assert card.arch == "cnn" and card.dropout == 0.25 and card.dataset == "mnist"
    assert card.best_epoch == result.best_epoch and card.test_accuracy == 0.9
    assert card.config.epochs == 2 and len(card.history) == 2
    assert json.loads(card_path(path).read_text()) == card.as_dict()  # readable card beside the weights


def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path, trained, monkeypatch):
    result, _ = trained
    path = save_checkpoint(tmp_path / "m.pt", result.model, make_card(result, name="first"))
    before = path.read_bytes()

    def disk_full(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device.*disk may be full"):
        save_checkpoint(path, result.model, make_card(result, name="second"))
    assert path.read_bytes() == before
    assert load_checkpoint(path)[1].name == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.pt"]  # no temp files left


class Payload:
    """Unpickling this touches a file: the proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pt"
    torch.save({"card": {"arch": "mlp", "dataset": "mnist"}, "state_dict": Payload(marker)}, evil)

    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(evil)
    assert not marker.exists()

    # The same file does run code when loaded unsafely: the test above would notice.
    torch.load(evil, weights_only=False)
    assert marker.exists()


def test_corrupt_truncated_missing_and_mismatched_checkpoints_are_explained(tmp_path, trained):
    result, _ = trained
    good = save_checkpoint(tmp_path / "good.pt", result.model, make_card(result))

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:1000])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    for path in (truncated, garbage):
        with pytest.raises(CheckpointError, match="not a readable checkpoint"):
            load_checkpoint(path)

    with pytest.raises(CheckpointError, match="cannot be opened"):
        load_checkpoint(tmp_path / "nope.pt")

    mismatched = tmp_path / "mismatched.pt"
    card = dict(make_card(result).as_dict(), arch="mlp", config=None)
    torch.save({"card": card, "state_dict": result.model.state_dict()}, mismatched)
    with pytest.raises(CheckpointError, match="not those of the model its card names"):
        load_checkpoint(mismatched)

    plain = tmp_path / "plain.pt"
    torch.save(result.model.state_dict(), plain)
    with pytest.raises(CheckpointError, match="not an mnistcore checkpoint"):
        load_checkpoint(plain)


def test_a_text_file_or_a_link_to_one_is_refused_with_a_reason(tmp_path):
    notes = tmp_path / "notes.pt"
    notes.write_text("these are my notes, not a model\n" * 20)
    link = tmp_path / "link.pt"
    link.symlink_to(notes)
    for path in (notes, link):
        with pytest.raises(CheckpointError, match="not a readable checkpoint"):
            load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_checkpoint(tmp_path)


def test_weights_that_are_not_numbers_or_not_tensors_are_refused(tmp_path, trained):
    result, _ = trained
    good = save_checkpoint(tmp_path / "good.pt", result.model, make_card(result))
    blob = torch.load(good, weights_only=True)
    cases = {
        "nan": {**blob["state_dict"], "fc2.weight": torch.full_like(blob["state_dict"]["fc2.weight"], float("nan"))},
        "int": {**blob["state_dict"], "fc2.bias": 3},
        "shape": {**blob["state_dict"], "fc2.bias": torch.zeros(11)},
        "extra": {**blob["state_dict"], "evil": torch.zeros(1)},
        "list": list(blob["state_dict"].values()),
    }
    for name, state in cases.items():
        torch.save({**blob, "state_dict": state}, tmp_path / f"{name}.pt")
        with pytest.raises(CheckpointError, match="not numbers|not those of the model"):
            load_checkpoint(tmp_path / f"{name}.pt")


HOSTILE_VALUES = [
    None,
    True,
    -1,
    0,
    10**30,
    float("nan"),
    float("inf"),
    "99%",
    "<script>alert(1)</script>",
    [],
    {},
    [1, 2],
    {"a": 1},
    torch.zeros(2),
    b"bytes",
    "x" * 10_000,
]


def _fuzzed_checkpoints(good: bytes, card: dict, state: dict, rng: random.Random):
    """Mutations of a valid checkpoint: raw bytes, the pickle inside a well-formed zip (so the
    unpickler itself is fed damage), and well-formed files whose contents are wrong."""
    for _ in range(200):
        data = bytearray(good)
        kind = rng.randrange(3)
        if kind == 0:
            for _ in range(rng.randint(1, 16)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 1:
            del data[rng.randint(1, len(data) - 1) :]
        else:
            at = rng.randrange(len(data))
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 100)))
        yield bytes(data)
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    pickle_name = next(name for name in entries if name.endswith("data.pkl"))
    for _ in range(200):
        pickled = bytearray(entries[pickle_name])
        for _ in range(rng.randint(1, 6)):
            pickled[rng.randrange(len(pickled))] = rng.randrange(256)
        if rng.random() < 0.3:
            del pickled[rng.randint(1, len(pickled) - 1) :]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
            for name, body in entries.items():
                archive.writestr(name, bytes(pickled) if name == pickle_name else body)
        yield out.getvalue()
    for _ in range(150):
        bad_card, bad_state = dict(card), dict(state)
        if rng.random() < 0.6:
            bad_card[rng.choice([*card, "extra"])] = rng.choice(HOSTILE_VALUES)
        else:
            key = rng.choice(list(state))
            bad_state[key] = rng.choice(
                [
                    *HOSTILE_VALUES,
                    state[key].double(),
                    state[key].flatten(),
                    state[key].reshape(-1)[:1],
                    state[key].to(torch.int64),
                ]
            )
        blob = rng.choice(
            [
                {"card": bad_card, "state_dict": bad_state},
                {"card": bad_card},
                [bad_card, bad_state],
                {"card": str(bad_card), "state_dict": bad_state},
                bad_state,
            ]
        )
        out = io.BytesIO()
        torch.save(blob, out)
        yield out.getvalue()


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch remarks on odd pickle protocols
def test_fuzzed_checkpoints_load_or_are_refused_never_another_exception(tmp_path, trained):
    result, _ = trained
    good = save_checkpoint(tmp_path / "good.pt", result.model, make_card(result)).read_bytes()
    blob = torch.load(io.BytesIO(good), weights_only=True)
    loaded = refused = 0
    for data in _fuzzed_checkpoints(good, blob["card"], blob["state_dict"], random.Random(1124)):
        (tmp_path / "fuzz.pt").write_bytes(data)
        try:
            model, card = load_checkpoint(tmp_path / "fuzz.pt")
            model(torch.zeros(1, 1, 28, 28))
            loaded += 1
        except CheckpointError:
            refused += 1
        (tmp_path / "good.epochs.pt").write_bytes(data)  # the same bytes as a model's epoch snapshots
        with contextlib.suppress(CheckpointError):
            load_snapshots(tmp_path / "good.pt", make_card(result))
    assert loaded + refused == 550 and refused > 400 and loaded > 0


def test_a_runs_weights_are_saved_before_its_test_evaluation(tmp_path, trained, monkeypatch):
    result, data = trained

    def unreadable(*args, **kwargs):
        raise DatasetError("The test split cannot be read.")

    monkeypatch.setattr(checkpoints, "loss_and_accuracy", unreadable)
    with pytest.raises(DatasetError):
        save_run(result, tmp_path / "run-1.pt", data.val)
    model, card = load_checkpoint(tmp_path / "run-1.pt")  # the training is not lost
    assert card.best_epoch == result.best_epoch and card.test_accuracy is None
    monkeypatch.undo()
    card = save_run(result, tmp_path / "run-1.pt", data.val)
    assert card.test_accuracy is not None and load_checkpoint(tmp_path / "run-1.pt")[1] == card
