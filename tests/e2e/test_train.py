"""The Train page in Debian's chromium: a live run, Stop, Save, and the run found again after a
reload.

No test here hopes the machine is slow or fast enough: the shared server's hold (``hold``,
mnistcore/hold.py) keeps a run training at the epoch a test names, and the server trains one
run at a time, so a second run waits. A run that is stopped never completes, so none of them
can be replayed from another's (mnistcore/replays.py) instead of training."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import ARTIFACTS, TRAINING_MS, epoch_markers, progress, stopped_after

pytestmark = pytest.mark.e2e

SLOW_TRAINING_MS = 480_000  # 16 epochs of the Seed experiment on one busy core


def test_quick_overfit_runs_live_stops_saves_and_is_found_after_a_reload(page, app_url, hold):
    """Certain, however fast the machine: the run is training while the chart shows exactly 1, 2
    and then 3 epochs, and Stop finds it still training. The server's hold lets it train one
    epoch more at a time; the epochs it kept are read from its "Stopped ... in epoch N" line."""
    hold.after(1)
    page.goto(f"{app_url}/train")
    expect(page.get_by_role("heading", name="Train a network")).to_be_visible()
    page.get_by_role("button", name="Train with and without dropout").click()
    expect(progress(page)).to_be_visible()

    # The chart grows while the page stays usable: no reload, no click needed.
    for epochs in (1, 2, 3):
        hold.after(epochs)
        expect(epoch_markers(page)).to_have_count(epochs, timeout=TRAINING_MS)
        expect(progress(page)).to_contain_text(f"Epoch {epochs + 1} of 25")
    page.get_by_role("button", name="Stop training").click()
    stopped_at = stopped_after(page)
    assert stopped_at in (3, 4)  # held in epoch 4: it stops there, or once that epoch is done
    # What happened, in numbers: "Without dropout the validation loss was lowest at epoch 4 (0.51) and rose ..."
    expect(page.get_by_text(re.compile(r"^Without dropout the validation loss .*epoch \d+"))).to_be_visible()
    expect(epoch_markers(page)).to_have_count(stopped_at, timeout=TRAINING_MS)

    name_box = page.get_by_label("Save the run without dropout", exact=False)
    run_number = re.search(r"Run (\d+):", page.get_by_text(re.compile(r"^Run \d+:")).inner_text()).group(1)
    expect(name_box).to_have_value(f"run-{run_number}-no-dropout")  # the run's own number, as its CSV has
    name_box.fill("quick-overfit-e2e")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Saved as quick-overfit-e2e")).to_be_visible()

    url = page.url
    assert "student=" in url
    page.reload()
    expect(page.get_by_role("heading", name="Your runs")).to_be_visible()
    table = page.get_by_test_id("stTable")
    expect(table).to_contain_text("Layered network on Fashion-MNIST, 1,000 images, 25 epochs: without dropout")
    expect(table).to_contain_text("stopped")
    expect(page.get_by_text("Stopped by the user")).to_be_visible()
    expect(epoch_markers(page)).to_have_count(stopped_at, timeout=TRAINING_MS)

    # The saved run is offered where its dataset's models are.
    page.goto(url.replace("/train", "/clothes"))
    page.get_by_test_id("stSelectbox").filter(has_text="Clothes model").click()
    expect(page.get_by_role("option", name="quick-overfit-e2e", exact=False)).to_be_visible()

    # And the Inside page replays its answer epoch by epoch.
    page.goto(url.replace("/train", "/inside"))
    page.get_by_test_id("stSelectbox").filter(has_text="Model").click()
    page.get_by_role("option", name="quick-overfit-e2e", exact=False).click()
    expect(page.get_by_text("The same input through the model as it was after each epoch")).to_be_visible()
    replay = page.locator(".js-plotly-plot").last
    expect(replay.locator(".scatterlayer .trace")).to_have_count(10)  # one line per class
    expect(replay.locator(".scatterlayer .trace").first.locator(".point")).to_have_count(stopped_at)

    # A student deletes their own saved model on the Train page, to make room for another.
    page.goto(url)
    saved = page.get_by_text("Layered network (quick-overfit-e2e, yours)", exact=False)
    expect(saved).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(saved).to_have_count(0)


def test_the_seed_experiment_shows_overfitting_live(page, app_url, hold):
    """Certain: the run is in its first epoch when the test looks for it there, and training
    with exactly 16 epochs charted for the screenshot: the server's hold keeps it at each."""
    hold.after(0)
    page.goto(f"{app_url}/train")
    page.get_by_test_id("stSelectbox").filter(has_text="Preset").click()
    page.get_by_role("option", name="Seed experiment").click()
    expect(page.get_by_text("The tutorial's experiment")).to_be_visible()
    # The preset has reached every widget (a click before that would send the old values).
    expect(page.get_by_test_id("stSlider").filter(has_text="Training images")).to_contain_text("50000")
    expect(page.get_by_test_id("stSlider").filter(has_text="Epochs")).to_contain_text("30")
    page.get_by_role("button", name="Train with and without dropout").click()
    expect(page.get_by_text("Epoch 1 of 30")).to_be_visible()
    # Enough epochs for the no-dropout validation loss to have turned up (it bottoms out at 7-11):
    # about 30 s of training here, minutes on one busy core.
    hold.after(16)
    expect(epoch_markers(page)).to_have_count(16, timeout=SLOW_TRAINING_MS)
    expect(progress(page)).to_contain_text("Epoch 17 of 30")
    ARTIFACTS.mkdir(exist_ok=True)
    page.get_by_role("heading", name="Train a network").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "train-seed-experiment.png")
    page.get_by_role("button", name="Stop training").click()
    expect(page.get_by_text("Stopped by the user")).to_be_visible()


def test_fast_clicks_queue_one_run_the_form_says_custom_and_a_waiting_run_can_be_cancelled(page, app_url, hold):
    """Certain: the first run is still training when the second is sent, so the second waits,
    number 1 in the queue: the server trains one run at a time (MNISTCORE_MAX_RUNS=1) and its
    hold keeps the first in its first epoch until the test stops it."""
    hold.after(0)
    page.goto(f"{app_url}/train")
    train = page.get_by_role("button", name="Train with and without dropout")
    expect(train).to_be_enabled()
    for _ in range(5):  # an impatient student: five clicks 150 ms apart
        train.click(force=True, timeout=2_000)
        page.wait_for_timeout(150)
    expect(progress(page)).to_be_visible()
    expect(page.get_by_text(re.compile("This run is already (training|waiting)")).first).to_be_visible()
    expect(train).to_be_disabled()
    table = page.get_by_test_id("stTable")
    expect(table.locator("tbody tr")).to_have_count(2)  # one pair: without and with dropout

    preset = page.get_by_role("combobox", name="Preset")
    expect(preset).to_have_value("Quick overfit")
    page.get_by_text("Settings", exact=True).click()
    page.get_by_role("spinbutton", name="Seed").fill("7")
    page.get_by_role("spinbutton", name="Seed").press("Enter")
    expect(preset).to_have_value("Custom")  # the settings are no longer the preset's
    expect(train).to_be_enabled()  # and no longer the run that trains
    train.click()
    waiting = page.get_by_text("is waiting, number 1 in the queue", exact=False)
    expect(waiting).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(waiting).to_have_count(0)
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table).to_contain_text("cancelled")

    page.reload()  # the form shows what was last sent: seed 7, so "Custom", not the first preset
    expect(preset).to_have_value("Custom")
    page.get_by_text("Settings", exact=True).click()
    expect(page.get_by_role("spinbutton", name="Seed")).to_have_value("7")
    stop = page.get_by_role("button", name="Stop training")
    stop.click()  # the first run, still held in its first epoch
    expect(stop).to_have_count(0)  # nothing left training for the next test
