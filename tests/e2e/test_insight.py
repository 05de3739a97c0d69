"""The Insight pages in Debian's chromium: a click on the confusion matrix, the report download,
the saliency of a drawing carried over from the Draw page, the dataset explorer."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mnistcore.catalog import SHIPPED_DIR
from mnistcore.checkpoints import load_checkpoint
from mnistcore.data import get_spec, load_split
from mnistcore.evaluation import evaluate
from tests.e2e.browser import SEVEN, click_cell, draw, go_to, prediction, screenshot

CLASSES = get_spec("fashion").classes

pytestmark = pytest.mark.e2e


def gallery(page):
    return page.get_by_test_id("stImageCaption").filter(has_text=re.compile(r"^#\d+: \d+%$"))


def test_a_click_on_a_confusion_cell_shows_those_test_images_and_the_report_downloads(page, app_url):
    model, _ = load_checkpoint(SHIPPED_DIR / "fashion-cnn.pt")
    test = load_split("fashion", "test")
    matrix = evaluate(model, test.images, test.labels).confusion()

    page.goto(f"{app_url}/evaluate")
    expect(page.get_by_test_id("stMetricValue").first).to_have_text(re.compile(r"\d+\.\d\d%"))
    # It opens on the commonest mistake.
    true, said = max(((t, s) for t in range(10) for s in range(10) if t != s), key=lambda c: matrix[c])
    expect(
        page.get_by_text(f"{matrix[true, said]} test images of {CLASSES[true]} the model called {CLASSES[said]}")
    ).to_be_visible()
    screenshot(page, "evaluate.png", 2600)

    for true, said in [(4, 2), (1, 1)]:  # Coat called Pullover, then Trouser right
        click_cell(page, true, said)
        expect(
            page.get_by_text(f"{matrix[true, said]:,} test images of {CLASSES[true]} the model called {CLASSES[said]}")
        ).to_be_visible()
        expect(gallery(page)).to_have_count(min(int(matrix[true, said]), 24))

    # Boxes changed below the chart, then the same cell clicked again: the click counts again.
    page.get_by_role("combobox", name="True class").click()
    page.get_by_role("option", name="Bag", exact=True).click()
    expect(page.get_by_text("test images of Bag the model called Trouser", exact=False)).to_be_visible()
    click_cell(page, 1, 1)
    expect(page.get_by_text(f"{matrix[1, 1]:,} test images of Trouser the model called Trouser")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download the report").click()
    report = Path(download.value.path()).read_text()
    accuracy = matrix.trace() / matrix.sum()
    assert "Run report: fashion-cnn" in report and f"Test accuracy <b>{accuracy:.2%}</b>" in report
    assert ">None<" not in report and ">False<" not in report and ">True<" not in report  # settings as read
    assert report.count('"automargin":true') >= 4  # axis numbers and class names kept inside each figure


def test_the_drawing_carries_over_and_its_saliency_appears(page, app_url):
    page.goto(app_url)
    draw(page, SEVEN)
    expect(prediction(page)).to_have_text("7")
    go_to(page, "Look inside", "Inside the network")
    expect(page.get_by_role("heading", name="Inside the network")).to_be_visible()
    expect(page.get_by_role("radio", name="Your drawing")).to_be_checked()
    expect(prediction(page)).to_have_text("7")
    expect(page.get_by_text("Saliency for '7'")).to_be_visible()
    expect(page.get_by_text("What the first hidden units look for")).to_be_visible()
    expect(page.get_by_text(re.compile(r"7 wins \d+ of 50 passes"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"On Fashion-MNIST images this model is still over 90% sure"))).to_be_visible()
    screenshot(page, "inside.png", 2900)

    page.get_by_role("radio", name="A test image").click()
    expect(page.get_by_text(re.compile(r"The input \(truly: \d\)"))).to_be_visible()


def test_the_dataset_explorer_shows_means_samples_and_counts(page, app_url):
    page.goto(f"{app_url}/dataset")
    expect(page.get_by_text("The average image of each class")).to_be_visible()
    table = page.get_by_test_id("stTable")
    expect(table).to_contain_text("50000")
    page.get_by_role("radio", name="Fashion-MNIST").click()
    expect(page.get_by_test_id("stImageCaption").filter(has_text="Ankle boot")).to_be_visible()
    classes = page.get_by_role("combobox", name="Class")
    classes.click()
    page.get_by_role("option", name="Bag", exact=True).click()
    expect(classes).to_have_value("Bag")
    page.get_by_role("radio", name="Fashion-MNIST").click()  # a second tap on the chosen one keeps it
    expect(page.get_by_role("radio", name="Fashion-MNIST")).to_be_checked()
    page.get_by_role("radio", name="MNIST digits").click()
    expect(classes).to_have_value("0")  # no "Bag" among the digits
    page.get_by_role("radio", name="Fashion-MNIST").click()
    caption = page.get_by_test_id("stImageCaption").filter(has_text="train images (indices")
    before = caption.inner_text()
    page.get_by_role("button", name="Show other images").click()
    expect(caption).not_to_have_text(before)
    screenshot(page, "dataset.png", 1500)
