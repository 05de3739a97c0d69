from pathlib import Path

import pytest
from playwright.sync_api import expect
from streamlit.testing.v1 import AppTest

from mnistcore.history import History
from pages.common import job_manager

from tests.e2e.conftest import serve_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("page", ["pages/draw.py", "pages/clothes.py", "pages/train.py", "pages/home.py",
                                  "pages/evaluate.py", "pages/inside.py", "pages/dataset.py"])
def test_every_page_runs_without_an_exception(page, tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]


@pytest.mark.e2e
def test_the_first_visitor_after_a_start_who_comes_straight_to_a_page_gets_the_app(browser, tmp_path):
    # Streamlit serves a folder called pages/ old-style until st.navigation has run once.
    with serve_app(tmp_path) as url:
        page = browser.new_page()
        page.goto(f"{url}/train")
        expect(page.get_by_role("heading", name="Train a network")).to_be_visible()
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav).to_contain_text("Draw a digit")
        expect(nav).not_to_contain_text("common")
        assert "student=" in page.url  # the entry script ran
        page.close()


def test_out_of_range_values_sent_past_the_widgets_never_reach_the_trainer(tmp_path, monkeypatch):
    # AppTest sends widget values the way a crafted browser message would: unchecked.
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    job_manager.clear()  # the server's one manager, cached by an earlier test with its own runs/
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    at.slider(key="train_dropout").set_value(5.0)
    at.slider(key="train_epochs").set_value(10**9)
    at.number_input(key="train_seed").set_value(-3).run()
    assert not at.exception
    at.button[0].click().run()
    assert not at.exception
    history = History(tmp_path / "history.sqlite")
    jobs = history.jobs()
    assert jobs or at.error  # trained within range, or refused with a message
    for job in jobs:
        for run in history.runs(job.id):
            c = run.config
            assert 0 <= c.dropout < 1 and 1 <= c.epochs <= 500 and c.seed >= 0
    stop = [b for b in at.button if b.label == "Stop training"]
    if stop:
        stop[0].click().run()  # leave no worker training behind for the next tests
