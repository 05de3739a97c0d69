"""A server killed mid-run and started again: the run that was training is marked interrupted
(not left "running" forever), the finished run and its checkpoint are intact, no worker is left
behind."""

import signal
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mnistcore.checkpoints import load_checkpoint
from mnistcore.history import History
from tests.e2e.browser import SERVERS, plotted_epochs, progress, serve_app

pytestmark = pytest.mark.e2e


def workers_of(folder: Path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "mnistcore.worker" in line and str(folder) in line]


def start_quick_overfit(page) -> None:
    page.get_by_role("button", name="Train with and without dropout").click()
    expect(progress(page)).to_be_visible()


def test_a_killed_server_comes_back_with_interrupted_runs_marked_and_finished_ones_intact(browser, tmp_path):
    with serve_app(tmp_path) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/train")
        start_quick_overfit(page)
        for _ in range(60):
            if plotted_epochs(page) >= 2:
                break
            page.wait_for_timeout(500)
        page.get_by_role("button", name="Stop training").click()
        expect(page.get_by_text("Stopped by the user")).to_be_visible(timeout=15_000)
        start_quick_overfit(page)
        history = History(tmp_path / "runs" / "history.sqlite")
        deadline = time.monotonic() + 60
        while len(history.jobs()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        finished, training = history.jobs()
        while not history.epochs(history.runs(training.id)[0].id) and time.monotonic() < deadline:
            time.sleep(0.2)
        student = page.url.split("student=")[1].split("&")[0]
        SERVERS[url].send_signal(signal.SIGKILL)  # no shutdown, no cleanup: a crash
        SERVERS[url].wait(10)
        page.close()

    deadline = time.monotonic() + 10
    while workers_of(tmp_path) and time.monotonic() < deadline:  # workers notice their server is gone
        time.sleep(0.2)
    assert workers_of(tmp_path) == []
    assert history.job(training.id).status == "running"  # as the crash left it

    with serve_app(tmp_path) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/train?student={student}")
        table = page.get_by_test_id("stTable")
        expect(table).to_contain_text("interrupted by a server restart")
        expect(table).to_contain_text("stopped")
        page.close()

    assert history.job(training.id).status == "interrupted"
    assert history.job(finished.id).status == "stopped"
    for run in history.runs(finished.id):
        model, card = load_checkpoint(run.checkpoint)
        assert card.best_epoch == run.best_epoch and len(history.epochs(run.id)) >= 2
