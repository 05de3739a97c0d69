"""The Train page in Debian's chromium: a live run, Stop, Save, and the run found again after a
reload."""

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import ARTIFACTS, plotted_epochs

pytestmark = pytest.mark.e2e


def test_quick_overfit_runs_live_stops_saves_and_is_found_after_a_reload(page, app_url):
    page.goto(f"{app_url}/train")
    expect(page.get_by_role("heading", name="Train a network")).to_be_visible()
    page.get_by_role("button", name="Train with and without dropout").click()
    expect(page.get_by_text("Epoch", exact=False).first).to_be_visible()

    # The chart gains points while the page stays usable: no reload, no click needed.
    counts = []
    for _ in range(40):
        page.wait_for_timeout(500)
        counts.append(plotted_epochs(page))
        if counts[-1] >= 6:
            break
    assert counts[-1] >= 6 and len(set(counts)) >= 3, counts
    page.get_by_role("button", name="Stop training").click()
    expect(page.get_by_text("Stopped by the user")).to_be_visible(timeout=15_000)
    stopped_at = plotted_epochs(page)
    assert stopped_at < 25

    name_box = page.get_by_label("Save mlp, no dropout", exact=False)
    name_box.fill("quick-overfit-e2e")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Saved as quick-overfit-e2e")).to_be_visible()

    url = page.url
    assert "student=" in url
    page.reload()
    expect(page.get_by_role("heading", name="Your runs")).to_be_visible()
    table = page.get_by_test_id("stTable")
    expect(table).to_contain_text("mlp, no dropout")
    expect(table).to_contain_text("stopped by you")
    expect(page.get_by_text("Stopped by the user")).to_be_visible()
    for _ in range(40):  # the chart draws a moment after the text
        if plotted_epochs(page) == stopped_at:
            break
        page.wait_for_timeout(250)
    assert plotted_epochs(page) == stopped_at

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
    saved = page.get_by_text("quick-overfit-e2e (mlp", exact=False)
    expect(saved).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(saved).to_have_count(0)


def test_the_seed_experiment_shows_overfitting_live(page, app_url):
    page.goto(f"{app_url}/train")
    page.get_by_test_id("stSelectbox").filter(has_text="Preset").click()
    page.get_by_role("option", name="Seed experiment").click()
    expect(page.get_by_text("The tutorial's experiment")).to_be_visible()
    # The preset has reached every widget (a click before that would send the old values).
    expect(page.get_by_test_id("stSlider").filter(has_text="Training images")).to_contain_text("50000")
    expect(page.get_by_test_id("stSlider").filter(has_text="Epochs")).to_contain_text("30")
    page.get_by_role("button", name="Train with and without dropout").click()
    expect(page.get_by_text("Epoch 1 of 30")).to_be_visible()
    # Enough epochs for the no-dropout validation loss to have turned up (it bottoms out at 7-11).
    for _ in range(600):
        page.wait_for_timeout(500)
        if plotted_epochs(page) >= 16:
            break
    assert plotted_epochs(page) >= 16
    ARTIFACTS.mkdir(exist_ok=True)
    page.get_by_role("heading", name="Run", exact=False).first.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "train-seed-experiment.png")
    page.get_by_role("button", name="Stop training").click()
    expect(page.get_by_text("Stopped by the user")).to_be_visible(timeout=15_000)
