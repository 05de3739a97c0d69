"""The server's hardening, as configured and as coded: these fail if someone loosens it."""

import re
import tomllib
from pathlib import Path

import pytest
import torch

from mnistcore.errors import CheckpointError
from mnistcore.snapshots import load_snapshots, snapshots_path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*ROOT.glob("mnistcore/*.py"), *ROOT.glob("pages/*.py"), ROOT / "streamlit_app.py"]


def test_streamlit_config_caps_uploads_checks_xsrf_and_sends_no_statistics():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] <= 5
    assert config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"  # no tracebacks shown to students


def test_no_page_renders_raw_html_and_every_torch_load_refuses_code():
    for path in SOURCES:
        text = path.read_text()
        assert "unsafe_allow_html=True" not in text and "st.html(" not in text, path
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, f"{path}: {call}"


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_malicious_epoch_snapshot_file_is_refused_without_running(tmp_path):
    marker = tmp_path / "code-ran"
    torch.save({1: Payload(marker)}, snapshots_path(tmp_path / "run-1.pt"))
    with pytest.raises(CheckpointError, match="not readable"):
        load_snapshots(tmp_path / "run-1.pt")
    assert not marker.exists()
    # Loaded unsafely, the same file does run code: the check above would notice.
    torch.load(snapshots_path(tmp_path / "run-1.pt"), weights_only=False)
    assert marker.exists()
