"""Reading image files from users: size-limited, and every failure is a clear message."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .errors import PreprocessError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 4096 * 4096


def read_image(source: str | Path | bytes, name: str | None = None) -> Image.Image:
    """A fully decoded PIL image from a path or bytes; PreprocessError says what is wrong."""
    name = name or (str(source) if not isinstance(source, bytes) else "upload")
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        raise PreprocessError(f"Cannot read {name}: {exc.strerror or exc}.") from None
    if len(data) > MAX_BYTES:
        raise PreprocessError(f"{name} is {len(data) / 1e6:.1f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise PreprocessError(f"{name} is {image.width} x {image.height} pixels; "
                                      f"the limit is {MAX_PIXELS:,} pixels.")
            image.load()
    except PreprocessError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PreprocessError(f"{name} has too many pixels to open safely.") from None
    except UnidentifiedImageError:
        raise PreprocessError(f"{name} is not an image this app can read (PNG or JPEG).") from None
    except (OSError, SyntaxError, ValueError):
        raise PreprocessError(f"{name} is damaged or truncated and cannot be read.") from None
    return image
