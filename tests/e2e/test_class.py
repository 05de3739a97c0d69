"""The class in Debian's chromium: two students, each in a browser of their own and with a
name, and the teacher's view on the projector."""

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from mnistcore.data import load_split
from mnistcore.handwriting import Handwriting
from mnistcore.history import History
from tests.e2e.browser import SEVEN, Hold, draw, go_to, png_bytes, prediction, screenshot, serve_app

pytestmark = pytest.mark.e2e

KEY = "class-test-key-7d2f"
DEADLINE_MS = 120_000  # two runs training at once on two busy cores


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("class")


@pytest.fixture(scope="module")
def class_url(class_folder):
    # A class of its own: its chart holds these students' runs only.
    env = {"MNISTCORE_TEACHER_KEY": KEY, "MNISTCORE_MAX_RUNS": "2"}
    with serve_app(class_folder, env) as url:
        yield url


@pytest.fixture
def hold(class_folder):
    hold = Hold(class_folder)
    yield hold
    hold.release()


def student(browser, url: str, name: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{url}/train")
    page.get_by_role("button", name="Your name?").click()
    page.get_by_label("Your name for the class").fill(name)
    page.get_by_role("button", name="Save my name").click()
    expect(page.get_by_role("button", name=name)).to_be_visible()  # the header button shows it now
    return page


def test_without_the_key_the_teachers_page_shows_nothing_of_the_class(browser, class_url):
    ann = student(browser, class_url, "Ann")
    page = browser.new_context().new_page()
    for address in (f"{class_url}/teacher", f"{class_url}/teacher?key=not-the-key", f"{class_url}/teacher?key="):
        page.goto(address)
        expect(page.get_by_text("This page is for the teacher")).to_be_visible()
        expect(page.get_by_text("Students here")).to_have_count(0)
        expect(page.get_by_text("Ann")).to_have_count(0)
    ann.context.close()
    page.context.close()


def test_two_students_and_the_teacher(browser, class_url, hold):
    """Certain, however fast the machine: Ann's and Bob's runs are training, two epochs charted,
    when the teacher looks, and the run the teacher suggests is still waiting behind them (two
    trainers, both busy) when the teacher cancels it: the server's hold keeps every run at its
    second epoch until the test ends."""
    hold.after(2)
    ann, bob = student(browser, class_url, "Ann"), student(browser, class_url, "**Bob**")
    expect(bob.get_by_role("button", name="**Bob**")).to_be_visible()  # as typed, not bold
    bob.get_by_text("Settings", exact=True).click()
    bob.get_by_role("spinbutton", name="Seed").fill("1")  # the same experiment, other luck
    bob.get_by_role("spinbutton", name="Seed").press("Enter")
    expect(bob.get_by_role("combobox", name="Preset")).to_have_value("Custom")
    for page in (ann, bob):
        page.get_by_role("button", name="Train with and without dropout").click()

    teacher = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    teacher.goto(f"{class_url}/teacher?key={KEY}")
    expect(teacher.get_by_role("heading", name="Teacher's view")).to_be_visible()
    expect(teacher).not_to_have_url(re.compile("key="))  # the projector never shows it
    roster = teacher.get_by_test_id("stTable").first
    expect(roster).to_contain_text("Ann")
    expect(roster).to_contain_text("**Bob**")
    # Both students' runs on one chart, grouped by dropout, each group with its band.
    chart = teacher.locator(".js-plotly-plot").first
    expect(chart.locator(".legendtext", has_text="without dropout (2 runs)")).to_be_visible(timeout=DEADLINE_MS)
    expect(chart.locator(".legendtext", has_text="with dropout (2 runs)")).to_be_visible()
    assert chart.locator("path.js-fill").count() >= 2  # a shaded band per group

    # The teacher suggests an experiment; Ann runs it with one click.
    teacher.get_by_role("tab", name="Suggest an experiment").click()
    teacher.get_by_test_id("stSelectbox").filter(has_text="Preset").click()
    teacher.get_by_role("option", name="Seed experiment").click()
    teacher.get_by_role("button", name="Send to the class").click()
    expect(teacher.get_by_text("Every student's Train page suggests")).to_be_visible()
    ann.reload()
    expect(ann.get_by_text("Your teacher suggests:")).to_be_visible()
    screenshot(ann, "class-suggestion.png", 900)
    ann.get_by_role("button", name="Run it").click()
    suggested = "Layered network on Fashion-MNIST, 50,000 images, 30 epochs"
    expect(ann.get_by_test_id("stTable")).to_contain_text(suggested)

    # Bob tells the class's handwriting that his 7 was a 4.
    go_to(bob, "Try it", "Draw a digit")  # through the menu: still Bob
    draw(bob, SEVEN)
    expect(prediction(bob)).to_have_text("7")
    bob.get_by_role("button", name="4", exact=True).click()
    expect(bob.get_by_text("Kept in the class's handwriting as a 4")).to_be_visible()
    go_to(bob, "Look inside", "Evaluate a model")
    expect(bob.get_by_test_id("stMetric").first).to_be_visible(timeout=DEADLINE_MS)  # the page has evaluated
    bob.get_by_test_id("stSelectbox").filter(has=bob.get_by_text("Model", exact=True)).click()
    bob.get_by_role("option", name="mnist-cnn", exact=False).click()
    bob.get_by_role("radio", name="Our class's handwriting").click()
    expect(bob.get_by_text(re.compile(r"^1 drawing by the class"))).to_be_visible()
    expect(bob.get_by_text("a 4, read 7")).to_be_visible()  # the drawing the model got wrong
    expect(bob.get_by_text(re.compile(r"reads \d+\.\d% of MNIST's test digits and 0\.0% of ours"))).to_be_visible()
    screenshot(bob, "class-evaluate.png", 1100)
    teacher.get_by_role("tab", name="Handwriting").click()
    expect(teacher.get_by_text("a 4", exact=True)).to_be_visible()  # with a Delete button for the teacher
    teacher.get_by_role("tab", name="The class").click()
    expect(teacher.get_by_test_id("stMetric").filter(has_text="Drawings kept")).to_contain_text("1")
    bob_row = teacher.get_by_test_id("stTable").first.locator("tr", has_text="**Bob**")
    expect(bob_row).to_contain_text("looking")  # Bob is on the Evaluate page

    # The teacher cancels Ann's suggested run, still waiting; Ann's page says so.
    entry = (
        teacher.get_by_test_id("stHorizontalBlock")
        .filter(has_text=suggested)
        .filter(has=teacher.get_by_role("button", name="Cancel"))
    )
    entry.last.get_by_role("button", name="Cancel").click()
    row = ann.get_by_test_id("stTable").locator("tr", has_text=suggested).first
    expect(row).to_contain_text("cancelled")
    screenshot(teacher, "teacher.png", 1600)
    for page in (ann, bob, teacher):
        page.context.close()


def test_a_name_is_found_again_after_a_reload_and_in_a_second_tab(browser, class_url):
    cy = student(browser, class_url, "Cy")
    cy.reload()
    expect(cy.get_by_role("button", name="Cy")).to_be_visible()
    second = browser.new_context().new_page()
    second.goto(cy.url)  # the same ?student= code
    expect(second.get_by_role("button", name="Cy")).to_be_visible()
    for page in (cy, second):
        page.context.close()


def test_fine_tuning_on_the_class_handwriting_shows_before_and_after(browser, class_url, class_folder):
    """Certain: the test looks only at the result, which the page shows once fine-tuning has
    ended, however long that took (within the deadline); nothing is asked of it mid-way."""
    # The class's drawings: MNIST training digits, as if thirty students had drawn them.
    drawings = Handwriting(History(class_folder / "runs" / "history.sqlite"))
    digits = load_split("mnist", "train")
    blank = png_bytes(Image.new("RGBA", (280, 280)))
    for i in range(40):
        drawings.add(f"{i % 8:016x}", int(digits.labels[i]), digits.images[i].numpy() / 255.0, blank)
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{class_url}/train")
    page.get_by_text("Fine-tune a digit model on our class's handwriting").click()
    page.get_by_role("button", name="Fine-tune it").click()
    expect(page.get_by_test_id("stMetric").filter(has_text="before")).to_contain_text(re.compile(r"of \d+ right"))
    expect(page.get_by_test_id("stMetric").filter(has_text="After fine-tuning")).to_contain_text(
        re.compile(r"\d+ of \d+ right")
    )
    expect(page.get_by_text(re.compile(r"^Trained on \d+ drawings, tested on \d+"))).to_be_visible()
    page.context.close()


def test_three_seeds_queue_three_runs_and_chart_their_bands(browser, class_url):
    """Certain: the six runs are in the table as soon as they are queued, and the chart's three
    seeds a group once every run has trained its one epoch, whenever that is (within the
    deadline); nothing is asked of a run mid-way."""
    page = student(browser, class_url, "Di")
    page.get_by_text("Settings", exact=True).click()
    epochs = page.get_by_role("slider", name="Epochs")
    epochs.focus()
    epochs.press("Home")  # 1 epoch, the shortest run
    expect(epochs).to_have_attribute("aria-valuetext", "1")
    page.get_by_role("button", name="Repeat with 3 seeds").click()
    runs = page.get_by_test_id("stTable").locator("tr", has_text="1,000 images, 1 epoch:")
    # Three seeds, each with and without dropout, in the table once the page has queued them; on
    # a busy machine that page run waits behind the other students' (and the class's runs).
    expect(runs).to_have_count(6, timeout=DEADLINE_MS)
    chart = page.locator(".js-plotly-plot", has=page.locator(".legendtext", has_text="without dropout (3 runs)"))
    expect(chart).to_be_visible(timeout=DEADLINE_MS)
    expect(chart.locator(".legendtext", has_text="with dropout (3 runs)")).to_be_visible()
    page.context.close()


def test_the_same_settings_as_a_finished_run_are_replayed_not_trained(browser, class_url):
    """Certain: Eve's run has finished (the test waits for it to say so) before Fay sends the
    same settings, so Fay's is replayed from it, never trained again nor followed live."""

    def one_epoch_run(name):
        page = student(browser, class_url, name)
        page.get_by_text("Settings", exact=True).click()
        epochs = page.get_by_role("slider", name="Epochs")
        epochs.focus()
        epochs.press("Home")
        expect(epochs).to_have_attribute("aria-valuetext", "1")
        page.get_by_role("button", name="Train without dropout only").click()
        return page

    eve = one_epoch_run("Eve")
    expect(eve.get_by_text("Training finished")).to_be_visible(timeout=DEADLINE_MS)
    fay = one_epoch_run("Fay")
    expect(fay.get_by_text(re.compile(r"^Replayed from run \d+, which trained these very settings"))).to_be_visible()
    expect(fay.get_by_role("button", name="Save")).to_be_visible()  # its weights came with it
    for page in (eve, fay):
        page.context.close()


def test_a_student_takes_back_a_drawing_they_kept(browser, class_url, class_folder):
    drawings = Handwriting(History(class_folder / "runs" / "history.sqlite"))
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(class_url)
    draw(page, SEVEN)
    expect(prediction(page)).to_have_text("7")
    before = drawings.size()
    page.get_by_role("button", name="Right", exact=True).click()
    expect(page.get_by_text("Kept in the class's handwriting as a 7")).to_be_visible()
    assert drawings.size() == before + 1
    page.get_by_role("button", name="Take it back").click()
    expect(page.get_by_role("button", name="Right", exact=True)).to_be_visible()  # asked again, for this drawing
    assert drawings.size() == before
    page.context.close()
