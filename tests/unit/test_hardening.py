"""The server's hardening, as configured and as coded: these fail if someone loosens it."""

import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from mnistcore.cards import ModelCard
from mnistcore.charts import clicked_cell
from mnistcore.checkpoints import load_checkpoint, snapshots_path
from mnistcore.data import load_split
from mnistcore.errors import CheckpointError, DatasetError
from mnistcore.evaluation import Evaluation
from mnistcore.report import run_report
from mnistcore.snapshots import load_snapshots

ROOT = Path(__file__).resolve().parents[2]


def test_streamlit_config_caps_uploads_checks_xsrf_and_sends_no_statistics():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] <= 5
    assert config["server"]["maxMessageSize"] <= 16  # a forged websocket message is bounded too
    assert config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"  # no tracebacks shown to students


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_malicious_epoch_snapshot_file_is_refused_without_running(tmp_path):
    marker = tmp_path / "code-ran"
    torch.save({1: Payload(marker)}, snapshots_path(tmp_path / "run-1.pt"))
    with pytest.raises(CheckpointError, match="not readable"):
        load_snapshots(tmp_path / "run-1.pt", ModelCard(dataset="mnist", arch="mlp", dropout=0.0))
    assert not marker.exists()
    # Loaded unsafely, the same file does run code: the check above would notice.
    torch.load(snapshots_path(tmp_path / "run-1.pt"), weights_only=False)
    assert marker.exists()


def hostile_card(**fields) -> dict:
    return {"dataset": "mnist", "arch": "mlp", "dropout": 0.2, "best_epoch": 2, "epochs_trained": 3, **fields}


@pytest.mark.parametrize(
    "field",
    ["best_epoch", "epochs_trained", "test_accuracy", "name", "status", "dropout", "history", "config", "created"],
)
def test_a_card_field_holding_a_script_is_refused_when_the_file_is_read(field):
    with pytest.raises(CheckpointError, match="model card is not valid"):
        ModelCard.from_dict(hostile_card(**{field: "<script>alert(1)</script>" if field != "name" else "x" * 500}))


def test_every_field_of_the_report_is_escaped_and_the_same_inputs_give_the_same_bytes():
    card = ModelCard.from_dict(hostile_card(name="<img src=x onerror=alert(1)>", created="2026-11-24T10:00:00+00:00"))
    evaluation = Evaluation(np.eye(10, dtype=np.float32)[[3, 5, 7]], np.array([3, 5, 1]), loss=0.1)
    images = np.zeros((3, 28, 28), np.uint8)
    page = run_report("<script>alert(3)</script>", card, evaluation, images)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(3)" in page and "Trained 2026-11-24" in page
    assert run_report("<script>alert(3)</script>", card, evaluation, images) == page
    assert "None" not in page.split("<h2>Settings</h2>")[1].split("</table>")[0]  # a person's words, not Python's


@pytest.mark.parametrize(
    "points",
    [
        [{"curve_number": 1, "point_index": 100}],
        [{"curve_number": 1, "point_index": -1}],
        [{"curve_number": 1, "point_index": "7"}],
        [{"curve_number": 1, "point_index": 3.5}],
        [{"curve_number": 1, "point_index": True}],
        [{"curve_number": 1}],
        ["a string"],
        "points",
        None,
        [None],
    ],
)
def test_a_forged_confusion_matrix_selection_names_no_cell(points):
    assert clicked_cell(points) is None


def test_messages_never_show_a_server_path(tmp_path, monkeypatch):
    (tmp_path / "model.pt").write_text("not a model")
    for path in (tmp_path / "model.pt", tmp_path / "missing.pt", tmp_path):
        with pytest.raises(CheckpointError) as refused:
            load_checkpoint(path)
        assert str(tmp_path) not in str(refused.value)
    monkeypatch.setenv("MNISTCORE_DATA", str(tmp_path))
    with pytest.raises(DatasetError) as missing:
        load_split("mnist", "test")
    assert str(tmp_path) not in str(missing.value)
    assert "MNIST/raw/" in str(missing.value)  # the missing file, named within the data folder
