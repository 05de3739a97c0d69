"""The Draw and Clothes pages in Debian's chromium: real mouse strokes on the real canvas, real
uploads through the real uploader."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.e2e.browser import ARTIFACTS, ONE, PAD, SEVEN, ZERO, draw, ink, open_clothes, png_bytes, prediction

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("digit, strokes", [("1", ONE), ("7", SEVEN), ("0", ZERO)])
def test_drawing_a_digit_shows_the_prediction_and_the_ten_bars(page, app_url, digit, strokes):
    page.goto(app_url)
    expect(page.get_by_text("Draw a digit to see what the network thinks it is.")).to_be_visible()
    draw(page, strokes)
    expect(prediction(page)).to_have_text(digit)
    expect(page.get_by_text("What the model sees (28x28)")).to_be_visible()
    expect(page.locator(".js-plotly-plot .bars .point")).to_have_count(10)
    expect(page.get_by_text("It must pick one of the ten digits", exact=False)).to_be_visible()
    if digit == "7":
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "draw.png")


def test_a_blank_canvas_shows_no_guess_and_clear_brings_it_back(page, app_url):
    page.goto(app_url)
    expect(page.locator(PAD)).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    draw(page, ONE)
    expect(prediction(page)).to_have_text("1")
    assert ink(page) > 1000
    page.get_by_role("button", name="Clear the canvas").click()
    expect(page.get_by_text("Draw a digit to see what the network thinks it is.")).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    page.evaluate("() => new Promise(requestAnimationFrame)")  # the canvas paints itself empty
    assert ink(page) == 0
    draw(page, SEVEN)  # at once: a stroke right after Clear counts
    expect(prediction(page)).to_have_text("7")


def test_the_preprocessing_steps_are_shown_at_one_size(page, app_url):
    page.goto(app_url)
    draw(page, SEVEN)
    expect(prediction(page)).to_have_text("7")
    page.locator("summary").filter(has_text="More to try").click()
    page.get_by_text("Show each preprocessing step").click()
    steps = page.get_by_test_id("stImage").filter(has=page.get_by_test_id("stImageCaption"))
    expect(steps).to_have_count(5)  # the four steps, and what the model sees beside the answer
    steps.locator("img").evaluate_all("imgs => Promise.all(imgs.map(img => img.complete ? null : img.decode()))")
    sizes = {
        (round(b["width"]), round(b["height"]))
        for b in (steps.nth(i).locator("img").bounding_box() for i in range(1, 5))
    }
    assert len(sizes) == 1, sizes


def test_undo_takes_back_the_last_stroke_and_a_stroke_right_after_clear_counts(page, app_url):
    page.goto(app_url)
    draw(page, ONE)
    expect(prediction(page)).to_have_text("1")
    one_alone = ink(page)
    draw(page, [[(60, 140), (220, 140)]])  # a bar across: no longer a 1
    expect(prediction(page)).not_to_have_text("1")
    page.get_by_role("button", name="Undo").click()
    expect(prediction(page)).to_have_text("1")
    assert ink(page) == pytest.approx(one_alone, rel=0.02)  # repainted whole: antialiasing differs a little
    page.get_by_role("button", name="Clear the canvas").click()
    draw(page, SEVEN)  # no waiting for the server: Clear happened in the browser
    expect(prediction(page)).to_have_text("7")
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Draw a digit to see what the network thinks it is.")).to_be_visible()
    assert ink(page) == 0


def test_a_dot_and_a_painted_over_canvas_get_a_message_not_a_guess(page, app_url):
    page.goto(app_url)
    box = page.locator(PAD).bounding_box()
    page.mouse.click(box["x"] + 140, box["y"] + 140)
    expect(page.get_by_text("That is only a dot")).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)

    page.get_by_role("button", name="Clear the canvas").click()
    expect(page.get_by_text("Draw a digit to see what the network thinks it is.")).to_be_visible()
    # Back and forth every 16 px with the 20 px brush: the whole square painted over.
    draw(page, [[(x, y) for y in range(10, 280, 16) for x in ((10, 270) if y // 16 % 2 == 0 else (270, 10))]])
    expect(page.get_by_text("There is more ink than background")).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)

    page.get_by_role("button", name="Clear the canvas").click()
    expect(page.get_by_text("Draw a digit to see what the network thinks it is.")).to_be_visible()
    draw(page, ONE)
    expect(prediction(page)).to_have_text("1")


def test_compare_shows_every_digit_model_on_the_same_drawing(page, app_url):
    page.goto(app_url)
    page.locator("summary").filter(has_text="More to try").click()
    page.get_by_text("Compare all digit models").click()
    draw(page, ONE)
    expect(page.get_by_text("Every digit model on your drawing")).to_be_visible()
    for name in (
        "Simple one-layer model (mnist-logreg)",
        "Layered network (mnist-mlp)",
        "Convolutional network (mnist-cnn)",
    ):
        expect(page.get_by_test_id("stMetricLabel").filter(has_text=name)).to_be_visible()


def test_a_fashion_test_image_gets_a_clothing_class(page, app_url):
    open_clothes(page, app_url)
    expect(page.get_by_text("The true class is")).to_be_visible()
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert prediction(page).inner_text() in classes
    seen = page.get_by_test_id("stImage").locator("img")
    first = seen.get_attribute("src")
    page.get_by_role("button", name="Another image").click()
    expect(seen).not_to_have_attribute("src", first)
    expect(page.locator(".js-plotly-plot .bars .point")).to_have_count(10)


BAD_UPLOADS = {
    "notes.png": (b"these are my notes, not a picture\n" * 20, "is not a picture this app can read"),
    "truncated.png": (png_bytes(Image.effect_noise((200, 200), 60).convert("RGB"))[:3000], "is damaged or truncated"),
    "huge.png": (png_bytes(Image.new("1", (10_000, 10_000))), "too many pixels"),
    "thin.png": (png_bytes(Image.new("L", (10_000, 2), 255)), "too long and thin"),
    "too-big.png": (b"\x89PNG" + bytes(6 * 1024 * 1024), "File must be 5.0MB or smaller"),
}


@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_a_bad_upload_gets_a_message_and_the_page_keeps_working(page, app_url, name):
    data, message = BAD_UPLOADS[name]
    open_clothes(page, app_url)
    page.get_by_role("radio", name="Upload a picture").or_(page.get_by_role("button", name="Upload a picture")).click()
    page.locator("input[type=file]").set_input_files({"name": name, "mimeType": "image/png", "buffer": data})
    expect(page.get_by_text(message)).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    page.get_by_role("radio", name="A test image").or_(page.get_by_role("button", name="A test image")).click()
    expect(page.get_by_text("The true class is")).to_be_visible()


def unusual_but_valid(name):
    shoe = Image.new("RGB", (240, 160), "white")
    ImageDraw.Draw(shoe).polygon([(20, 120), (60, 40), (110, 60), (220, 110), (220, 140), (20, 140)], fill="black")
    buffer = io.BytesIO()
    if name == "sixteen-bit.png":
        Image.fromarray(np.asarray(shoe.convert("L"), dtype=np.uint16) * 16).save(buffer, format="PNG")
    elif name == "cmyk.jpg":
        shoe.convert("CMYK").save(buffer, format="JPEG")
    else:
        shoe.convert("P").save(buffer, format="GIF", save_all=True, append_images=[Image.new("P", shoe.size)], loop=0)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["sixteen-bit.png", "cmyk.jpg", "animated.gif"])
def test_16_bit_cmyk_and_animated_uploads_are_classified(page, app_url, name):
    open_clothes(page, app_url)
    page.get_by_role("radio", name="Upload a picture").click()
    page.locator("input[type=file]").set_input_files(
        {"name": name, "mimeType": "image/png", "buffer": unusual_but_valid(name)}
    )
    expect(page.get_by_text("What the model sees (28x28)")).to_be_visible()
    expect(page.locator(".js-plotly-plot .bars .point")).to_have_count(10)


def test_an_uploaded_photo_of_clothing_is_classified(page, app_url):
    shoe = Image.new("RGB", (240, 160), "white")
    ImageDraw.Draw(shoe).polygon([(20, 120), (60, 40), (110, 60), (220, 110), (220, 140), (20, 140)], fill="black")
    open_clothes(page, app_url)
    page.get_by_role("radio", name="Upload a picture").or_(page.get_by_role("button", name="Upload a picture")).click()
    page.locator("input[type=file]").set_input_files(
        {"name": "shoe.png", "mimeType": "image/png", "buffer": png_bytes(shoe)}
    )
    expect(page.get_by_text("What the model sees (28x28)")).to_be_visible()
    expect(page.locator(".js-plotly-plot .bars .point")).to_have_count(10)
