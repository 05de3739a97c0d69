"""From a picture to the model's input, (1, 1, 28, 28) in [0, 1], the way each dataset was made.

Digits (drawn or uploaded) follow MNIST's recipe, for a drawing of any size and polarity: find
the ink, crop to it, scale it into a 20x20 box keeping its aspect ratio (anti-aliased), and
centre it by its centre of mass in a 28x28 frame, white ink on black. Clothes follow
Fashion-MNIST's: gray, the item light on black, fitted to the whole frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .errors import PreprocessError

BOX = 20
FRAME = 28
INK_THRESHOLD = 0.15  # ink below this (after removing the background) counts as paper
MIN_INK_PIXELS = 2  # fewer inked pixels than this is a blank canvas, not a digit
MIN_INK_SPAN = 0.08  # ink spanning less of the picture than this is a dot, not a digit
MAX_INK_FRACTION = 0.5  # more ink than paper is a painted-over canvas, not a digit


@dataclass(frozen=True)
class DrawingSteps:
    """Each step as floats in [0, 1], white ink on black, for showing to the user."""

    ink: np.ndarray  # the whole drawing, as ink
    cropped: np.ndarray  # the ink's bounding box
    boxed: np.ndarray  # scaled to fit 20x20
    model_input: np.ndarray  # 28x28: centred by mass as in MNIST, or the whole picture shrunk
    recentred: bool = True  # False: MNIST's recipe was switched off, cropped and boxed are unused

    def as_input(self) -> torch.Tensor:
        """The model's input, (1, 1, 28, 28) in [0, 1]."""
        return torch.from_numpy(self.model_input)[None, None]

    def shown(self) -> list[tuple[str, np.ndarray]]:
        """The steps a student sees, named."""
        if not self.recentred:
            return [("Your ink", self.ink), ("Shrunk to 28x28 as it is", self.model_input)]
        return [
            ("Your ink", self.ink),
            ("Cropped to the ink", self.cropped),
            ("Scaled into 20x20", self.boxed),
            ("Centred by mass in 28x28", self.model_input),
        ]


def to_ink(image: np.ndarray | Image.Image, light_ink: bool = False) -> np.ndarray:
    """Gray, RGB or RGBA -> float ink in [0, 1] on a 0 background. ``light_ink`` for light strokes
    on black (the canvas, however much is painted); otherwise the polarity is guessed, taking the
    commoner colour for the paper (an upload)."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGBA") if image.mode in ("P", "LA", "PA") else image)
    a = np.asarray(image, dtype=np.float32)
    if a.max(initial=0) > 1.0:
        a = a / 255.0
    if a.ndim == 3 and a.shape[2] in (2, 4):  # gray or RGB, with alpha
        alpha = a[..., -1]
        if alpha.min() < alpha.max():
            # Strokes on a transparent canvas: the alpha channel is the ink, whatever its colour.
            return alpha
        a = a[..., :-1]
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    elif a.ndim == 3 and a.shape[2] == 3:
        a = a @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"expected a gray, RGB or RGBA image, got shape {a.shape}")
    background = 0.0 if light_ink else float(np.median(a))
    if background > 0.5:  # dark ink on light paper
        a, background = 1.0 - a, 1.0 - background
    return np.clip((a - background) / max(1.0 - background, 1e-6), 0.0, 1.0)


def crop_and_fit(image: np.ndarray, mask: np.ndarray, box: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop to the bounding box of ``mask``, then scale (anti-aliased) so the longer side is
    ``box`` pixels, stretched to full brightness. Returns (cropped, fitted)."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    cropped = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = cropped.shape
    size = (max(1, round(h * box / max(h, w))), max(1, round(w * box / max(h, w))))
    return cropped, _resized(cropped, size)


def _resized(ink: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Smoothly resized (antialiased, so thin strokes survive shrinking), brightest at 1: a thin
    or faint stroke still reaches full white, as MNIST's do."""
    resized = (
        F.interpolate(
            torch.from_numpy(np.ascontiguousarray(ink))[None, None],
            size=size,
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )[0, 0]
        .clamp(0, 1)
        .numpy()
    )
    return resized / resized.max()


def drawing_steps(image: np.ndarray | Image.Image, light_ink: bool = False, centre: bool = True) -> DrawingSteps | None:
    """All preprocessing steps, or None when there is no ink to read. PreprocessError when the
    ink cannot be a digit: a dot, or a canvas painted over. ``light_ink`` as in ``to_ink``.
    ``centre`` False skips MNIST's recipe and shrinks the whole picture as it is to 28x28: a
    digit drawn small or off-centre then lands where no training digit ever was, which the
    convolutional network copes with far better than the others."""
    ink = to_ink(image, light_ink)
    mask = ink > INK_THRESHOLD
    if mask.sum() < MIN_INK_PIXELS:
        return None
    if mask.mean() > MAX_INK_FRACTION:
        raise PreprocessError("There is more ink than background. Clear it and draw one digit on a plain background.")
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < MIN_INK_SPAN * max(mask.shape):
        raise PreprocessError("That is only a dot. Draw a whole digit, about as tall as the square.")
    if not centre:
        whole = _resized(ink, (FRAME, FRAME))
        return DrawingSteps(ink, ink, whole, whole, recentred=False)
    cropped, boxed = crop_and_fit(ink, mask, BOX)

    # Place the box so that its centre of mass lands on pixel (14, 14), where MNIST puts it,
    # staying inside the frame.
    ys, xs = np.indices(boxed.shape)
    total = boxed.sum()
    com_y, com_x = (ys * boxed).sum() / total, (xs * boxed).sum() / total
    top = int(np.clip(round(FRAME / 2 - com_y), 0, FRAME - boxed.shape[0]))
    left = int(np.clip(round(FRAME / 2 - com_x), 0, FRAME - boxed.shape[1]))
    centred = np.zeros((FRAME, FRAME), dtype=np.float32)
    centred[top : top + boxed.shape[0], left : left + boxed.shape[1]] = boxed
    return DrawingSteps(ink, cropped, boxed, centred)


def prepare_drawing(image: np.ndarray | Image.Image, centre: bool = True) -> torch.Tensor | None:
    """The model's input, (1, 1, 28, 28) in [0, 1], or None for a blank drawing (no guess)."""
    steps = drawing_steps(image, centre=centre)
    return None if steps is None else steps.as_input()


BACKGROUNDS = {"auto": "Guess from the edges", "light": "Light (paper, a white wall)", "dark": "Dark (a dark table)"}


def prepare_photo(image: Image.Image, background: str = "auto") -> torch.Tensor | None:
    """A picture of one piece of clothing -> (1, 1, 28, 28) in [0, 1] as in Fashion-MNIST: gray,
    the item light on a dark background, fitted into 28x28 keeping its aspect ratio, centred.
    ``background`` says what is behind the item; "auto" takes the picture's edges for it. None
    when the picture is one flat colour (nothing to classify)."""
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}")
    if image.mode in ("RGBA", "LA", "PA", "P"):
        # Product shots with a transparent background: put them on white, as photographed.
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    light = np.median(border) > 0.5 if background == "auto" else background == "light"
    if light:  # Fashion-MNIST's items are light on black: turn a light background dark
        gray, border = 1.0 - gray, 1.0 - border
    gray = np.clip(gray - np.median(border), 0.0, 1.0)
    mask = gray > 0.05
    if not mask.any():
        return None
    _, item = crop_and_fit(gray, mask, 28)
    frame = torch.zeros(28, 28)
    top, left = (28 - item.shape[0]) // 2, (28 - item.shape[1]) // 2
    frame[top : top + item.shape[0], left : left + item.shape[1]] = torch.from_numpy(item)
    return frame[None, None]


def prepare_input(
    image: np.ndarray | Image.Image, dataset: str, centre: bool = True, background: str = "auto"
) -> torch.Tensor | None:
    """The model's (1, 1, 28, 28) input in [0, 1], or None when there is nothing to read.
    Digits follow MNIST's recipe (``centre``: see ``drawing_steps``); clothes Fashion-MNIST's
    (``background``: see ``prepare_photo``)."""
    if dataset == "mnist":
        return prepare_drawing(image, centre)
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    return prepare_photo(image, background)
