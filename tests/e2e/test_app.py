import io
import json
import re
import socket
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from playwright.sync_api import expect
from streamlit.testing.v1 import AppTest

from mnistcore.catalog import Catalog
from mnistcore.handwriting import Handwriting
from mnistcore.history import History
from pages.server import job_manager
from tests.e2e.browser import serve_app

ROOT = Path(__file__).resolve().parents[2]


PAGES = [
    "pages/draw.py",
    "pages/clothes.py",
    "pages/train.py",
    "pages/home.py",
    "pages/evaluate.py",
    "pages/inside.py",
    "pages/dataset.py",
]


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    return at.switch_page(page).run()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_an_exception_and_renders_no_raw_html(page, tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    job_manager.clear()
    at = run_page(page)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    texts = [*at.markdown, *at.caption]  # headings cannot hold HTML at all
    assert texts and not any(text.proto.allow_html for text in texts)
    assert not at.get("html")
    job_manager.clear()


def test_a_job_manager_cleared_from_the_cache_ends_its_warm_workers(tmp_path, monkeypatch):
    # Each page test above clears the server's one manager: were its workers left running, each
    # would keep a warm worker (torch and both datasets, about 800 MB) until the tests end.
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    job_manager.clear()
    manager = job_manager()
    workers = manager.workers.pids()
    assert workers
    job_manager.clear()
    assert manager.workers.pids() == []
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_the_teachers_page_opens_with_its_key_only(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    monkeypatch.setenv("MNISTCORE_TEACHER_KEY", "the-teachers-key")
    job_manager.clear()
    for given in (None, "", "the-teachers-ke", "the-teachers-key-and-more", "THE-TEACHERS-KEY"):
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
        if given is not None:
            at.query_params["key"] = given
        at = at.switch_page("pages/teacher.py").run()
        assert not at.exception
        assert "This page is for the teacher" in at.info[0].value, given
        assert not at.metric and not at.table
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    at.query_params["key"] = "the-teachers-key"
    at = at.switch_page("pages/teacher.py").run()
    assert not at.exception and not at.error
    assert [m.label for m in at.metric][:2] == ["Students here", "Runs training"]
    job_manager.clear()


def test_the_dataset_explorer_shows_the_class_drawings_of_a_digit_beside_mnists(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    job_manager.clear()
    drawings = Handwriting(History(tmp_path / "history.sqlite"))
    ink = io.BytesIO()
    Image.new("RGBA", (280, 280)).save(ink, format="PNG")
    for label in (0, 0, 3):
        drawings.add("0123456789abcdef", label, np.zeros((28, 28)), ink.getvalue())
    at = run_page("pages/dataset.py")
    assert not at.exception
    assert any("Our class's own 0s" in m.value and "2 kept" in m.value for m in at.markdown)
    counts = at.table[-1].value
    assert list(counts["our class"][:4]) == [2, 0, 0, 1] and counts["our class"]["all"] == 3
    job_manager.clear()


@pytest.mark.e2e
def test_the_first_visitor_after_a_start_who_comes_straight_to_a_page_gets_the_app(browser, tmp_path):
    # Streamlit serves a folder called pages/ old-style until st.navigation has run once.
    with serve_app(tmp_path) as url:
        page = browser.new_page()
        page.goto(f"{url}/train")
        expect(page.get_by_role("heading", name="Train a network")).to_be_visible()
        nav = page.get_by_test_id("stTopNav")
        expect(nav).to_contain_text("Try it")
        nav.get_by_text("Try it").click()
        expect(page.get_by_test_id("stTopNavPopover")).to_contain_text("Draw a digit")
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # the old-style list of pages/*.py
        assert "student=" in page.url  # the entry script ran
        page.close()


@pytest.mark.parametrize(
    "widget, key, value, field",
    [
        ("slider", "train_dropout", 5.0, "dropout"),
        ("slider", "train_epochs", 10**9, "epochs"),
        ("number_input", "train_seed", -3, "seed"),
        ("select_slider", "train_batch_size", 10**6, "batch_size"),
        ("select_slider", "train_lr", 1e9, "lr"),
    ],
)
def test_out_of_range_values_sent_past_the_widgets_never_reach_the_trainer(
    tmp_path, monkeypatch, widget, key, value, field
):
    """Certain: the test reads the settings of the run as it was queued, whatever the trainer
    has done with it since, and stops it."""
    # AppTest sends a widget's value the way a crafted browser message would. Streamlit puts a
    # value out of its widget's range back in range; TrainConfig would refuse it otherwise
    # (tests/unit/test_presets.py sends it there directly).
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    job_manager.clear()  # the server's one manager, cached by an earlier test with its own runs/
    at = run_page("pages/train.py")
    getattr(at, widget)(key=key).set_value(value).run()
    assert not at.exception and not at.error
    kept = at.session_state[key]
    assert kept != value
    next(b for b in at.button if b.label == "Train with and without dropout").click().run()
    assert not at.exception and not at.error
    history = History(tmp_path / "history.sqlite")
    (job,) = history.jobs()
    trained = [getattr(run.config, field) for run in history.runs(job.id)]
    assert trained[-1] == kept  # the twin with dropout carries the dropout; the others are shared
    job_manager().stop(job.id)
    job_manager().close()
    job_manager.clear()


def test_a_ray_cluster_that_does_not_answer_turns_training_off_with_a_reason(monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("MNISTCORE_RAY_ADDRESS", address)
    job_manager.clear()
    at = run_page("pages/train.py")
    assert not at.exception
    said = "Training is off for now. The Ray cluster named in MNISTCORE_RAY_ADDRESS does not answer"
    assert said in at.error[0].value
    assert address not in at.error[0].value  # the class sees no server addresses
    job_manager.clear()


def test_a_runs_folder_the_server_cannot_write_turns_training_off_and_nothing_else(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("runs/ cannot be made under a file, as under a read-only or full disk")
    monkeypatch.setenv("MNISTCORE_RUNS", str(blocked / "runs"))
    job_manager.clear()
    for page in PAGES:
        at = run_page(page)
        assert not at.exception, page
        if page == "pages/train.py":
            assert "Training is off for now" in at.error[0].value
        else:
            assert not at.error, (page, [e.value for e in at.error])
    job_manager.clear()


def test_a_train_click_on_a_full_disk_gets_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    job_manager.clear()
    at = run_page("pages/train.py")
    assert not at.exception
    connect = History._connect

    def full(self, write):
        if write:
            raise sqlite3.OperationalError("database or disk is full")
        return connect(self, write)

    monkeypatch.setattr(History, "_connect", full)
    next(b for b in at.button if b.label == "Train with and without dropout").click().run()
    assert not at.exception
    assert any("could not write its run history" in e.value for e in at.error)
    monkeypatch.setattr(History, "_connect", connect)
    job_manager().close()
    job_manager.clear()


def test_saved_models_whose_files_do_not_check_out_break_no_page(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    job_manager.clear()
    catalog = Catalog(tmp_path / "saved", History(tmp_path / "history.sqlite"))
    for name in ("bad-card", "wrong-arch", "text"):
        catalog.save(ROOT / "checkpoints" / "mnist-mlp.pt", name, owner="someone")
    bad = tmp_path / "saved" / "bad-card" / "model.pt"
    blob = torch.load(bad, weights_only=True)
    torch.save({**blob, "card": {**blob["card"], "test_accuracy": "99%"}}, bad)
    mlp_as_cnn = tmp_path / "saved" / "wrong-arch" / "model.pt"
    torch.save({**blob, "card": {**blob["card"], "arch": "cnn", "config": None}}, mlp_as_cnn)
    (tmp_path / "saved" / "text" / "model.pt").write_text("notes\n" * 100)
    # A card in the old layout, beside weights: a page once trusted it and formatted "99%" as a number.
    (tmp_path / "saved" / "legacy.json").write_text(
        json.dumps({"dataset": "mnist", "arch": "cnn", "test_accuracy": "99%"})
    )
    (tmp_path / "saved" / "legacy.pt").write_bytes(b"weights")
    for page in ("pages/draw.py", "pages/evaluate.py", "pages/inside.py", "pages/clothes.py"):
        at = run_page(page)
        assert not at.exception, page
        assert not at.error, (page, [e.value for e in at.error])
        offered = [o for box in at.selectbox for o in box.options]
        assert not any(name in option for option in offered for name in ("bad-card", "wrong-arch", "text", "legacy"))
    job_manager.clear()


def test_the_train_page_says_how_long_a_run_takes_and_refuses_one_far_beyond_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    job_manager.clear()
    at = run_page("pages/train.py")
    assert any(re.search(r"With and without dropout this takes about \d+ seconds", c.value) for c in at.caption)
    at.selectbox(key="train_arch").set_value("cnn")
    at.select_slider(key="train_batch_size").set_value(16)
    at.select_slider(key="train_train_size").set_value(50000)
    at.slider(key="train_epochs").set_value(60).run()
    assert not at.exception
    assert any("This run would take about 1 hour" in w.value and "at most 10 minutes" in w.value for w in at.warning)
    assert next(b for b in at.button if b.label == "Train with and without dropout").disabled
    next(b for b in at.button if b.label == "Train without dropout only").click().run()
    assert any(re.search(r"This run would take about \d+ minutes", e.value) for e in at.error)  # refused by the manager
    assert History(tmp_path / "history.sqlite").jobs() == []
    job_manager().close()
    job_manager.clear()


def test_a_setting_that_is_not_a_number_is_named_on_every_page(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    monkeypatch.setenv("MNISTCORE_MAX_RUN_MINUTES", "ten")
    job_manager.clear()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()  # it runs before every page
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The server is not set up right: MNISTCORE_MAX_RUN_MINUTES must be a whole number from 1 to 1440, not 'ten'."
    ]
    job_manager.clear()


@pytest.mark.parametrize("code", ["BAD", "0123456789ABCDEF", "0123456789abcdef0", "'; drop table jobs"])
def test_a_student_code_that_is_not_ours_is_replaced_and_the_student_is_told(code, tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    job_manager.clear()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.query_params["student"] = code
    at.run()
    assert any("was not one this app makes" in w.value for w in at.warning)
    assert re.fullmatch(r"[0-9a-f]{16}", at.query_params["student"])
    at.run()  # the new code is kept: said once, not on every rerun
    assert not any("was not one this app makes" in w.value for w in at.warning)
    job_manager.clear()


def test_a_good_student_code_is_kept_without_a_word(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    job_manager.clear()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.query_params["student"] = "0123456789abcdef"
    at.run()
    assert not at.warning
    assert at.query_params["student"] == "0123456789abcdef"
    job_manager.clear()
