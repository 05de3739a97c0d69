import io
import re

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from mnistcore.charts import probability_bars
from mnistcore.display import enlarge, on_square, plain
from mnistcore.errors import PreprocessError
from mnistcore.image_reader import decode_image
from mnistcore.inference import Prediction, classify
from mnistcore.models import build_model
from mnistcore.preprocess import prepare_input, prepare_photo


def shirt(size=(300, 200), item="black", paper="white", mode="RGB"):
    """A T-shaped dark item photographed on light paper, off-centre."""
    image = Image.new(mode, size, paper)
    d = ImageDraw.Draw(image)
    d.rectangle((30, 40, 150, 70), fill=item)  # sleeves
    d.rectangle((65, 40, 115, 180), fill=item)  # body
    return image


def test_a_photo_is_fitted_like_fashion_mnist_light_item_on_black_filling_the_frame():
    x = prepare_photo(shirt())
    assert x.shape == (1, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
    img = x[0, 0]
    assert img[0, 0] == 0 and img[14, 14] > 0.9  # background black, the item light
    rows, cols = img.gt(0.1).any(1).nonzero(), img.gt(0.1).any(0).nonzero()
    assert rows.max() - rows.min() + 1 == 28  # the longer side fills the frame
    assert abs((cols.min() + cols.max()) / 2 - 13.5) <= 1  # and the item is centred


def test_either_polarity_and_transparency_give_the_same_input():
    on_white = prepare_photo(shirt())
    on_black = prepare_photo(shirt(item="white", paper="black"))
    transparent = prepare_photo(shirt(item=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA"))
    assert torch.allclose(on_white, on_black, atol=0.02)
    assert torch.allclose(on_white, transparent, atol=0.02)


def test_a_flat_picture_has_nothing_to_classify():
    assert prepare_photo(Image.new("RGB", (64, 64), "gray")) is None


def test_digits_take_the_mnist_recipe_and_clothes_the_fashion_one():
    stroke = np.zeros((280, 280), np.uint8)
    stroke[60:220, 130:150] = 255  # a tall thin "1"
    digit = prepare_input(stroke, "mnist")[0, 0]
    clothes = prepare_input(stroke, "fashion")[0, 0]
    assert digit.gt(0.1).any(1).sum() == 20  # MNIST: into a 20x20 box
    assert clothes.gt(0.1).any(1).sum() == 28  # Fashion-MNIST: the whole frame


def test_classify_gives_named_probabilities_that_sum_to_one():
    torch.manual_seed(0)
    prediction = classify(build_model("logreg"), torch.rand(1, 1, 28, 28), "fashion")
    assert prediction.probabilities.shape == (10,)
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert prediction.label == prediction.classes[prediction.probabilities.argmax()]
    assert prediction.classes[0] == "T-shirt/top"


def test_the_top_bar_is_highlighted_and_labelled():
    p = np.array([0.05, 0.7, 0.25, 0, 0, 0, 0, 0, 0, 0])
    bars = probability_bars(p, tuple("0123456789")).data[0]
    assert len(set(bars.marker.color)) == 2 and bars.marker.color[1] != bars.marker.color[0]
    assert bars.text[1] == "70%" and bars.text[3] == ""


def test_enlarge_keeps_pixels_crisp():
    big = enlarge(np.eye(28, dtype=np.float32), 112)
    assert big.shape == (112, 112) and set(np.unique(big)) == {0, 255}


def test_prediction_reports_its_top_class():
    p = Prediction(np.array([0.1, 0.6, 0.3]), ("a", "b", "c"))
    assert (p.index, p.label, p.confidence) == (1, "b", 0.6)


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data, says",
    [
        (b"not a picture at all", "is not a picture this app can read"),
        (png(Image.effect_noise((120, 120), 50))[:900], "is damaged or truncated"),
        (png(Image.new("1", (5000, 5000))), "5,000 x 5,000 pixels; the limit is 16,777,216"),
        (png(Image.new("1", (12_000, 12_000))), "too many pixels"),  # past PIL's own bomb limit too
        (png(Image.new("L", (10_000, 2))), "too long and thin"),
        (b"\x89PNG" + bytes(6 * 1024 * 1024), "the limit is 5 MB"),
    ],
)
def test_unreadable_uploads_get_a_message_that_says_what_is_wrong(data, says):
    with pytest.raises(PreprocessError, match=says):
        decode_image(data)


def test_a_readable_upload_is_fully_decoded():
    image = decode_image(png(shirt()))
    assert image.size == (300, 200) and prepare_photo(image) is not None


def encoded(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def sixteen_bit(image):
    # 12-bit values in a 16-bit file, as scanners write them: PIL alone would clip them all to white.
    return Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 16)


GRAY = "#404040"


@pytest.mark.parametrize(
    "data, item",
    [
        (encoded(sixteen_bit(shirt(item=GRAY)), "PNG"), GRAY),
        (encoded(shirt().convert("CMYK"), "JPEG", quality=95), "black"),
        (
            encoded(
                shirt().convert("P"),
                "GIF",
                save_all=True,  # animated: the first frame counts
                append_images=[Image.new("P", (300, 200), 0)] * 2,
                duration=100,
                loop=0,
            ),
            "black",
        ),
    ],
)
def test_16_bit_cmyk_and_animated_uploads_read_like_the_plain_picture(data, item):
    plain = prepare_photo(decode_image(png(shirt(item=item))))
    odd = prepare_photo(decode_image(data))
    assert odd is not None
    assert (odd - plain).abs().mean() < 0.03


def test_an_answer_with_little_of_the_probability_is_called_unsure():
    assert Prediction(np.array([0.55, 0.45]), ("a", "b")).unsure
    assert not Prediction(np.array([0.9, 0.1]), ("a", "b")).unsure


def test_a_picture_of_any_shape_is_shown_on_a_square():
    tall = np.ones((20, 8), dtype=np.float32)
    square = on_square(tall)
    assert square.shape == (20, 20) and square.sum() == tall.sum()
    assert square[:, :6].sum() == 0 and square[:, 6:14].all()  # centred


@pytest.mark.parametrize("name", ["**Ann**", "[x](http://a.b)", ":red[Bo]", ":material/home: Cy", "<b>Di</b>", "a_b_c"])
def test_every_markdown_sign_in_a_typed_name_is_escaped(name):
    escaped = plain(name)
    assert re.sub(r"\\(.)", r"\1", escaped) == name  # unescaped, it is the name as typed
    for sign in "*[]():<>_":
        assert re.search(rf"(?<!\\){re.escape(sign)}", escaped) is None  # no sign without its backslash
