"""Images from users: read safely (size-limited, every failure a clear message) and fitted to
28x28 the way Fashion-MNIST was made. Digits drawn or uploaded go through ``drawing``."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .drawing import crop_and_fit
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
                raise PreprocessError(f"{name} has too many pixels ({image.width} x {image.height}); "
                                      f"the limit is {MAX_PIXELS:,}.")
            image.load()
    except PreprocessError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PreprocessError(f"{name} has too many pixels to open safely; the limit is {MAX_PIXELS:,}.") from None
    except UnidentifiedImageError:
        raise PreprocessError(f"{name} is not an image this app can read (PNG or JPEG).") from None
    except (OSError, SyntaxError, ValueError):
        raise PreprocessError(f"{name} is damaged or truncated and cannot be read.") from None
    return to_8bit(image)


def to_8bit(image: Image.Image) -> Image.Image:
    """8 bits a channel, gray, RGB or with alpha, whatever the file held. PIL's own conversion
    of 16-bit or float gray clips at 255, turning the picture white; CMYK and 1-bit it converts
    well. An animated image keeps its first frame."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        return Image.fromarray(((values - low) / max(high - low, 1e-6) * 255).astype(np.uint8), "L")
    if image.mode in ("L", "RGB", "RGBA", "LA", "P", "PA"):
        return image
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


def prepare_photo(image: Image.Image) -> torch.Tensor | None:
    """A picture of one piece of clothing -> (1, 1, 28, 28) in [0, 1] as in Fashion-MNIST: gray,
    the item light on a dark background, fitted into 28x28 keeping its aspect ratio, centred.
    None when the picture is one flat colour (nothing to classify)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA", "P"):
        # Product shots with a transparent background: put them on white, as photographed.
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:  # a light background: Fashion-MNIST's items are light on black
        gray = 1.0 - gray
        border = 1.0 - border
    gray = np.clip(gray - np.median(border), 0.0, 1.0)
    mask = gray > 0.05
    if not mask.any():
        return None
    _, item = crop_and_fit(gray, mask, 28)
    frame = torch.zeros(28, 28)
    top, left = (28 - item.shape[0]) // 2, (28 - item.shape[1]) // 2
    frame[top:top + item.shape[0], left:left + item.shape[1]] = torch.from_numpy(item)
    return frame[None, None]
