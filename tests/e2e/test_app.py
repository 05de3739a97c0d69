from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("page", ["pages/draw.py", "pages/clothes.py", "pages/train.py", "pages/home.py"])
def test_every_page_runs_without_an_exception(page, tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
