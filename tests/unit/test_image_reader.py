"""Every image the server decodes goes through one guarded reader: the canvas's value (forged in
any way a websocket message can be), uploads, and files named on the command line."""

import contextlib
import io
import os
import random
import threading

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image, ImageDraw

from mnistcore.errors import PreprocessError
from mnistcore.image_reader import decode_image, read_canvas, read_image_file
from mnistcore.preprocess import drawing_steps, prepare_input
from tests.forged import EPS, data_url, huge_png, png_with_header


def encoded(image, fmt="PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def canvas_state(data) -> dict:
    """The drawing pad's state as Streamlit keeps it, with ``data`` where the PNG goes."""
    return {"drawing": data}


def seven(mode="RGBA", size=280):
    image = Image.new("RGBA", (size, size), "black")
    ImageDraw.Draw(image).line([(70, 55), (210, 55), (125, 240)], fill="white", width=20)
    return image.convert(mode)


def test_the_canvas_drawing_is_read_like_an_upload():
    image = read_canvas(canvas_state(data_url(encoded(seven()))))
    assert image.size == (280, 280) and image.mode == "RGBA"
    assert drawing_steps(image, light_ink=True) is not None
    for nothing in (None, {}, "not even a mapping", canvas_state(None), canvas_state("")):
        assert read_canvas(nothing) is None


def test_a_gray_and_alpha_canvas_png_is_read_not_a_traceback():
    steps = drawing_steps(read_canvas(canvas_state(data_url(encoded(seven("LA"))))), light_ink=True)
    reference = drawing_steps(read_canvas(canvas_state(data_url(encoded(seven())))), light_ink=True)
    assert np.abs(steps.model_input - reference.model_input).mean() < 0.01


@pytest.mark.parametrize(
    "value, says",
    [
        (data_url(huge_png(9000)), "9,000 x 9,000 pixels"),
        (data_url(huge_png(15000)), "too many pixels"),  # past PIL's own limit: refused by PIL first
        ("data:image/png;base64,iVBORw0KGgo%%%not-base64", "could not be read"),
        ("data:image/png," + "iVBORw0KGgo", "could not be read"),
        ("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", "could not be read"),
        ("https://example.com/seven.png", "could not be read"),
        (data_url(EPS), "not a picture this app can read \\(PNG\\)"),
        (data_url(encoded(seven("RGB"), "JPEG")), "not a picture this app can read \\(PNG\\)"),
        (data_url(encoded(seven())[:300]), "damaged or truncated"),
        ("data:image/png;base64," + "A" * (3 * 1024 * 1024), "larger than a canvas sends"),
        (12345, "could not be read"),
        (["data:image/png;base64,"], "could not be read"),
        ({"src": "x"}, "could not be read"),
    ],
)
def test_a_forged_canvas_value_gets_a_message_never_a_traceback(value, says):
    with pytest.raises(PreprocessError, match=says):
        read_canvas(canvas_state(value))


@pytest.mark.parametrize("drawing", ["a string", 42, ["a", "list"], True, {"data": "data:image/png;base64,"}])
def test_a_forged_drawing_that_is_no_data_url_gets_a_message(drawing):
    with pytest.raises(PreprocessError, match="could not be read"):
        read_canvas({"drawing": drawing})


def test_no_parser_outside_the_allow_list_sees_the_bytes(monkeypatch):
    opened = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: opened.append("eps"))
    for data in (EPS, encoded(seven("RGB"), "TIFF"), encoded(seven("RGB"), "ICO"), encoded(seven("RGB"), "PPM")):
        with pytest.raises(PreprocessError, match="not a picture this app can read"):
            decode_image(data)
        with pytest.raises(PreprocessError):
            read_canvas(canvas_state(data_url(data)))
    assert opened == []  # Ghostscript would have been next


def test_large_pictures_are_reduced_once_decoded_and_turned_upright():
    photo = Image.new("RGB", (4000, 1000), "white")
    ImageDraw.Draw(photo).rectangle((1000, 200, 3000, 800), fill="black")
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held on its side
    image = decode_image(encoded(photo, "JPEG", exif=exif))
    assert image.size == (256, 1024)  # upright, and no larger than the app needs
    assert prepare_input(image, "fashion") is not None


@pytest.mark.parametrize(
    "mode, fmt, options",
    [
        ("1", "PNG", {}),
        ("L", "PNG", {}),
        ("LA", "PNG", {}),
        ("P", "PNG", {}),
        ("P", "PNG", {"transparency": 0}),
        ("RGB", "PNG", {}),
        ("RGBA", "PNG", {}),
        ("I;16", "PNG", {}),
        ("CMYK", "JPEG", {}),
        ("I", "WEBP", {}),
        ("L", "GIF", {}),
        ("RGB", "BMP", {}),
        ("RGBA", "WEBP", {}),
    ],
)
def test_every_pixel_mode_arrives_as_l_rgb_or_rgba(mode, fmt, options):
    decoded = decode_image(encoded(seven("RGBA").convert(mode), fmt, **options))
    assert decoded.mode in ("L", "RGB", "RGBA")
    assert prepare_input(decoded, "mnist") is not None
    prepare_input(decoded, "fashion")  # white on transparent, put on white as photographed, is blank


def test_a_file_that_is_not_a_regular_file_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    outcome = []

    def read():
        try:
            read_image_file(fifo)
        except PreprocessError as exc:
            outcome.append(str(exc))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert outcome and "not a regular file" in outcome[0]
    with pytest.raises(PreprocessError, match="not a regular file"):
        read_image_file(tmp_path)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path):
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as f:
        f.truncate(3 * 1024**3)  # 3 GB, sparse: reading it would take 3 GB of memory
    with pytest.raises(PreprocessError, match="3,221.2 MB; the limit is 5 MB"):
        read_image_file(huge)


# --- fuzzing ---------------------------------------------------------------------------------


def _samples() -> dict[str, bytes]:
    photo = Image.new("RGB", (64, 48), "white")
    ImageDraw.Draw(photo).ellipse((10, 8, 50, 40), fill="navy")
    return {
        "png": encoded(photo, "PNG"),
        "png-gray-alpha": encoded(seven("LA", 64), "PNG"),
        "png-palette": encoded(photo.convert("P"), "PNG"),
        "jpeg": encoded(photo, "JPEG", quality=80),
        "gif": encoded(photo.convert("P"), "GIF", save_all=True, append_images=[photo.convert("P")], loop=0),
        "bmp": encoded(photo, "BMP"),
        "webp": encoded(photo, "WEBP"),
    }


def _mutate(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0:  # a few random bytes changed
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:  # cut short
        del data[rng.randint(1, len(data) - 1) :]
    elif kind == 2:  # bytes inserted
        at = rng.randrange(len(data))
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif kind == 3:  # a header field set to an extreme (the first 64 bytes hold most of them)
        at = rng.randrange(min(64, len(data) - 4))
        data[at : at + 4] = rng.choice(
            [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x01"]
        )
    else:  # a stretch repeated
        at, length = rng.randrange(len(data)), rng.randint(1, 200)
        data[at:at] = data[at : at + length] * rng.randint(1, 20)
    return bytes(data)


def test_fuzzed_pictures_give_a_picture_or_a_message_never_another_exception():
    rng = random.Random(20261124)
    cases = [(name, _mutate(data, rng)) for name, data in _samples().items() for _ in range(60)]
    for _ in range(120):
        width, height = rng.choice([0, 1, 2, 7, 28, 300, 2**16, 2**31 - 1]), rng.choice([0, 1, 3, 28, 500, 2**20])
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
        cases.append(
            (
                "png-header",
                png_with_header(width, height, rng.choice([1, 2, 4, 8, 16, 3]), rng.choice([0, 2, 3, 4, 6, 5]), body),
            )
        )
    outcomes = {"read": 0, "refused": 0}
    for _, data in cases:
        try:
            image = decode_image(data)
            for dataset in ("mnist", "fashion"):
                prepare_input(image, dataset)
            outcomes["read"] += 1
        except PreprocessError:
            outcomes["refused"] += 1
        with contextlib.suppress(PreprocessError):
            read_canvas(canvas_state(data_url(data)))
    assert sum(outcomes.values()) == len(cases) >= 500
    assert outcomes["read"] > 50 and outcomes["refused"] > 100  # both paths were exercised
