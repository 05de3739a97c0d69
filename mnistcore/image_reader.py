"""Every image the server decodes comes through here: an upload, the canvas, a file named on
the command line. Each is checked before a pixel is decoded (its size in bytes, its format
against an allow-list, its declared width and height), decoded with every failure turned into
a message, and handed on as 8-bit L, RGB or RGBA no larger than the app needs (``preprocess``
then makes the model's input of it)."""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import PreprocessError
from .files import FileRefused, read_regular_file

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 4096 * 4096
MAX_ASPECT = 50  # a picture 50 times wider than tall (or taller than wide) shows no one object
WORKING_SIDE = 1024  # larger pictures are reduced to this on their longer side once decoded
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
UPLOAD_TYPES = ("png", "jpg", "jpeg", "gif", "webp", "bmp")  # the same, as file name endings

# The canvas sends a PNG of what it shows as a data: URL. It is 280 x 280 CSS pixels; a screen
# with 4 device pixels to one makes it 1120 x 1120. Anything else was not sent by the canvas.
CANVAS_PREFIX = "data:image/png;base64,"
CANVAS_MAX_SIDE = 1120
CANVAS_MAX_BYTES = 2 * 1024 * 1024


def read_image_file(path: str | Path) -> Image.Image:
    """An image file named on the command line, refused before reading when it is not a plain
    file (a FIFO would block forever) or is over the size limit."""
    try:
        data = read_regular_file(path, MAX_BYTES)
    except FileRefused as exc:
        raise PreprocessError(str(exc)) from None
    return decode_image(data)


def decode_image(data: bytes, formats: tuple[str, ...] = UPLOAD_FORMATS, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Bytes of an image file -> a decoded PIL image in mode L, RGB or RGBA, upright (EXIF) and
    at most ``WORKING_SIDE`` pixels on its longer side. PreprocessError says what is wrong."""
    if len(data) > MAX_BYTES:
        raise PreprocessError(f"The picture is {len(data) / 1e6:.1f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the allowed formats' parsers ever see the bytes: no EPS (Ghostscript), no PSD, ...
            image = Image.open(io.BytesIO(data), formats=list(formats))
            width, height = image.size  # from the header: nothing is decoded yet
            if width < 1 or height < 1 or width * height > max_pixels:
                raise PreprocessError(
                    f"The picture is {width:,} x {height:,} pixels; the limit is {max_pixels:,} pixels in all."
                )
            if max(width, height) > MAX_ASPECT * min(width, height):
                raise PreprocessError(
                    f"The picture is {width:,} x {height:,} pixels: too long and thin to show one thing."
                )
            image.load()
            return _normalise(image)
    except PreprocessError:
        raise
    except UnidentifiedImageError:
        raise PreprocessError(f"This is not a picture this app can read ({', '.join(formats)}).") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PreprocessError(f"The picture has too many pixels to open safely; the limit is {max_pixels:,}.") from None
    except Exception:
        raise PreprocessError("The picture is damaged or truncated and cannot be read.") from None


def _normalise(image: Image.Image) -> Image.Image:
    """8 bits a channel, L, RGB or RGBA, upright, no larger than needed. PIL's own conversion of
    16-bit or float gray clips at 255, turning the picture white, so those are scaled here. An
    animated image keeps its first frame."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        image = Image.fromarray(((values - low) / max(high - low, 1e-6) * 255).astype(np.uint8), "L")
    elif image.mode not in ("L", "RGB", "RGBA"):
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    if max(image.size) > WORKING_SIDE:
        image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image


def read_canvas(state: object) -> Image.Image | None:
    """The drawing in the canvas component's state (what Streamlit keeps under the canvas's
    key), or None when nothing is drawn. The state arrives in a websocket message anyone can
    forge, so it is checked like an upload, and more strictly: a PNG data: URL, no larger than
    a canvas."""
    value = state.get("drawing") if isinstance(state, Mapping) else None
    if not value:
        return None
    unreadable = PreprocessError("The drawing could not be read. Clear the canvas and draw again.")
    if not isinstance(value, str) or not value.startswith(CANVAS_PREFIX):
        raise unreadable
    encoded = value[len(CANVAS_PREFIX) :]
    if len(encoded) > CANVAS_MAX_BYTES * 4 // 3 + 4:
        raise PreprocessError("The drawing is larger than a canvas sends. Clear the canvas and draw again.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise unreadable from None
    return decode_image(data, formats=("PNG",), max_pixels=CANVAS_MAX_SIDE * CANVAS_MAX_SIDE)
