import json
import pickle
from pathlib import Path

import pytest
import torch

from mnistcore.checkpoints import card_path, load_checkpoint, make_card, save_checkpoint
from mnistcore.errors import CheckpointError
from mnistcore.training import TrainConfig, run_to_end, train


@pytest.fixture(scope="module")
def trained():
    from tests.conftest import synthetic_split
    from mnistcore.training import TrainData

    data = TrainData(synthetic_split(320, seed=1), synthetic_split(100, seed=2))
    config = TrainConfig(dataset="mnist", arch="cnn", dropout=0.25, epochs=2, batch_size=32)
    return run_to_end(train(config, data=data)).results[0], data


def test_round_trip_gives_the_same_predictions_and_the_card(tmp_path, trained):
    result, data = trained
    path = save_checkpoint(tmp_path / "m.pt", result.model, make_card(result, 0.5, 0.9, name="m"))
    model, card = load_checkpoint(path)
    x = data.val.images[:16].unsqueeze(1).float() / 255
    assert torch.allclose(model(x), result.model.eval()(x))
    assert not model.training
    assert card["arch"] == "cnn" and card["dropout"] == 0.25 and card["dataset"] == "mnist"
    assert card["best_epoch"] == result.best_epoch and card["test_accuracy"] == 0.9
    assert card["config"]["epochs"] == 2 and len(card["history"]) == 2
    assert json.loads(card_path(path).read_text()) == card  # readable card beside the weights


def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path, trained, monkeypatch):
    result, _ = trained
    path = save_checkpoint(tmp_path / "m.pt", result.model, make_card(result, name="first"))
    before = path.read_bytes()

    def disk_full(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(path, result.model, make_card(result, name="second"))
    assert path.read_bytes() == before
    assert load_checkpoint(path)[1]["name"] == "first"
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

    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")

    mismatched = tmp_path / "mismatched.pt"
    card = dict(make_card(result), arch="mlp")
    torch.save({"card": card, "state_dict": result.model.state_dict()}, mismatched)
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(mismatched)

    plain = tmp_path / "plain.pt"
    torch.save(result.model.state_dict(), plain)
    with pytest.raises(CheckpointError, match="not an mnistcore checkpoint"):
        load_checkpoint(plain)
