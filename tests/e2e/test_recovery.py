"""A server killed mid-run and started again: the run that was training is marked interrupted
(not left "running" forever), the finished run and its checkpoint are intact, no worker is left
behind."""

import signal
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mnistcore.checkpoints import load_checkpoint
from mnistcore.history import History
from tests.conftest import wait_for
from tests.e2e.browser import SERVERS, TRAINING_MS, Hold, epoch_markers, progress, serve_app

pytestmark = pytest.mark.e2e


def workers_of(folder: Path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "mnistcore.worker" in line and str(folder) in line]


def start_quick_overfit(page) -> None:
    page.get_by_role("button", name="Train with and without dropout").click()
    expect(progress(page)).to_be_visible()


def test_a_killed_server_comes_back_with_interrupted_runs_marked_and_finished_ones_intact(browser, tmp_path):
    """Certain: the first run is stopped after exactly two epochs, and the second is still
    training when the server is killed: the server's hold (mnistcore/hold.py) keeps each run at
    its second epoch, however fast the machine."""
    hold = Hold(tmp_path)
    hold.after(2)
    with serve_app(tmp_path) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/train")
        start_quick_overfit(page)
        expect(epoch_markers(page)).to_have_count(2, timeout=TRAINING_MS)
        page.get_by_role("button", name="Stop training").click()
        expect(page.get_by_text("Stopped by the user")).to_be_visible()
        start_quick_overfit(page)
        history = History(tmp_path / "runs" / "history.sqlite")
        finished, training = wait_for(lambda: history.jobs() if len(history.jobs()) == 2 else None, 60)
        wait_for(lambda: len(history.epochs(history.runs(training.id)[0].id)) == 2, 60)
        student = page.url.split("student=")[1].split("&")[0]
        SERVERS[url].send_signal(signal.SIGKILL)  # no shutdown, no cleanup: a crash
        SERVERS[url].wait(10)
        page.close()

    wait_for(lambda: workers_of(tmp_path) == [], 10)  # the workers notice their server is gone
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
