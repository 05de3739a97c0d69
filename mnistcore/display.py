"""Arrays made into pictures for the pages and the report: small images enlarged with crisp
pixels, grids of many small images, signed weights in two colours, a heat map over an image; and
text a student typed made safe for markdown."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence

import numpy as np
from PIL import Image


def enlarge(image: np.ndarray, size: int = 168) -> np.ndarray:
    """A small image (float in [0, 1], gray or RGB) as crisp uint8 pixels (no blur)."""
    factor = max(1, size // max(image.shape[:2]))
    big = np.repeat(np.repeat(np.clip(image, 0, 1), factor, axis=0), factor, axis=1)
    return (big * 255).astype(np.uint8)


def on_square(image: np.ndarray) -> np.ndarray:
    """A gray picture centred on a black square, so pictures of any shape show at one size."""
    h, w = image.shape[:2]
    side = max(h, w)
    square = np.zeros((side, side), dtype=image.dtype)
    top, left = (side - h) // 2, (side - w) // 2
    square[top : top + h, left : left + w] = image
    return square


def diverging(weights: np.ndarray) -> np.ndarray:
    """Signed values as RGB in [0, 1]: red where positive, blue where negative, white at zero,
    scaled by the largest magnitude in this one picture."""
    w = weights / max(float(np.abs(weights).max()), 1e-12)
    pos, neg = np.clip(w, 0, 1), np.clip(-w, 0, 1)
    return np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1).clip(0, 1)


def heat_overlay(image: np.ndarray, heat: np.ndarray, strength: float = 0.8) -> np.ndarray:
    """A gray image (in [0, 1]) with ``heat`` (in [0, 1]) laid over it in red-yellow, RGB."""
    gray = np.repeat(np.clip(image, 0, 1)[..., None] * 0.6, 3, axis=-1)
    colour = np.stack([np.ones_like(heat), heat, np.zeros_like(heat)], axis=-1)
    alpha = (strength * np.clip(heat, 0, 1))[..., None]
    return gray * (1 - alpha) + colour * alpha


def tile(
    images: np.ndarray | Sequence[np.ndarray], columns: int, scale: int = 3, gap: int = 1, background: float = 0.5
) -> np.ndarray:
    """N pictures (h, w) or (h, w, 3) in [0, 1] as one grid picture, uint8, each cell ``scale``
    times larger."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    rows = max(1, -(-n // columns))
    cell_h, cell_w = h * scale + gap, w * scale + gap
    grid = np.full((rows * cell_h + gap, columns * cell_w + gap, *images.shape[3:]), background, np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
        grid[gap + r * cell_h : gap + r * cell_h + h * scale, gap + c * cell_w : gap + c * cell_w + w * scale] = big
    return (np.clip(grid, 0, 1) * 255).astype(np.uint8)


def png_data_uri(picture: np.ndarray) -> str:
    """A uint8 picture as a data: URI, for a self-contained HTML report."""
    out = io.BytesIO()
    Image.fromarray(picture).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=\"'])")


def plain(text: str) -> str:
    """``text`` escaped for Streamlit's markdown, where a label or a caption would render
    ``**``, links, ``:red[...]`` and ``:material/...:``: a student's name shows as typed."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
