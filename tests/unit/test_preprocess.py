import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnistcore.errors import PreprocessError
from mnistcore.preprocess import drawing_steps, prepare_drawing, prepare_input


def canvas(size=280, box=(40, 40, 120, 200), width=20, ink=255, paper=0):
    """A '7'-like stroke drawn with a brush, as on the app's canvas."""
    image = Image.new("L", (size, size), paper)
    x0, y0, x1, y1 = box
    ImageDraw.Draw(image).line([(x0, y0), (x1, y0), (x0 + (x1 - x0) // 3, y1)], fill=ink, width=width)
    return np.asarray(image)


def centre_of_mass(a):
    ys, xs = np.indices(a.shape)
    return (ys * a).sum() / a.sum(), (xs * a).sum() / a.sum()


@pytest.mark.parametrize(
    "blank",
    [
        np.zeros((280, 280), np.uint8),
        np.full((280, 280, 3), 255, np.uint8),
        np.zeros((280, 280, 4), np.uint8),  # transparent canvas
        np.dstack([np.zeros((280, 280, 3), np.uint8), np.full((280, 280), 255, np.uint8)]),  # opaque black
    ],
)
def test_blank_drawing_gives_no_input_so_no_guess(blank):
    assert prepare_drawing(blank) is None


def test_off_centre_small_drawing_is_cropped_scaled_and_centred():
    x = prepare_drawing(canvas(box=(200, 200, 250, 260), width=8))
    assert x.shape == (1, 1, 28, 28)
    a = x[0, 0].numpy()
    cy, cx = centre_of_mass(a)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5  # pixel (14, 14), as in MNIST
    rows, cols = np.flatnonzero(a.max(1) > 0.05), np.flatnonzero(a.max(0) > 0.05)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (20, 21)  # the 20x20 box, anti-aliased edge
    assert a.max() == pytest.approx(1.0)


def test_same_digit_anywhere_and_any_size_gives_nearly_the_same_input():
    big = prepare_drawing(canvas(box=(20, 20, 180, 260), width=24))[0, 0].numpy()
    small = prepare_drawing(canvas(box=(190, 10, 230, 70), width=6))[0, 0].numpy()
    assert np.corrcoef(big.ravel(), small.ravel())[0, 1] > 0.8


def test_black_on_white_reads_like_white_on_black():
    white_on_black = prepare_drawing(canvas())
    black_on_white = prepare_drawing(canvas(ink=0, paper=255))
    assert np.allclose(white_on_black, black_on_white, atol=1e-5)


def test_rgba_strokes_on_transparent_canvas_read_like_gray():
    gray = canvas()
    expected = prepare_drawing(gray)
    for rgb in (0, 255):  # black or white ink, the alpha channel carries the stroke
        rgba = np.dstack([np.full((280, 280, 3), rgb, np.uint8), gray])
        assert np.allclose(prepare_drawing(rgba), expected, atol=1e-5)
    opaque = np.dstack([np.repeat(gray[..., None], 3, 2), np.full_like(gray, 255)])  # white on opaque black
    assert np.allclose(prepare_drawing(opaque), expected, atol=1e-5)


def test_steps_are_kept_for_showing():
    steps = drawing_steps(canvas())
    assert steps.boxed.shape[0] == 20 or steps.boxed.shape[1] == 20
    assert steps.model_input.shape == (28, 28)
    assert steps.cropped.shape[0] >= steps.boxed.shape[0]


def canvas_png(painted):
    """The canvas as the component sends it: opaque, white paint on its black background."""
    a = np.zeros((280, 280, 4), np.uint8)
    a[..., 3] = 255
    a[painted, :3] = 255
    return a


def test_a_single_dot_is_not_taken_for_a_digit():
    painted = np.zeros((280, 280), bool)
    painted[130:148, 130:148] = True  # one click of the default brush
    with pytest.raises(PreprocessError, match="only a dot"):
        drawing_steps(canvas_png(painted), light_ink=True)


@pytest.mark.parametrize("fraction", [0.7, 1.0])
def test_a_painted_over_canvas_says_so(fraction):
    painted = np.zeros((280, 280), bool)
    painted[: int(280 * fraction)] = True
    with pytest.raises(PreprocessError, match="more ink than background"):
        drawing_steps(canvas_png(painted), light_ink=True)
    # Without knowing it is the canvas, a mostly white picture is paper with dark marks on it.
    if fraction < 1:
        assert drawing_steps(canvas_png(painted)) is not None


def test_a_huge_scribble_still_gets_an_answer():
    rng = np.random.default_rng(0)
    image = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(image).line([tuple(p) for p in rng.integers(0, 280, (40, 2))], fill=255, width=12)
    steps = drawing_steps(np.asarray(image), light_ink=True)
    assert steps is not None and steps.as_input().shape == (1, 1, 28, 28)
    assert (np.asarray(image) > 0).mean() < 0.5  # a scribble, not a painted-over canvas


def test_a_white_sneaker_on_a_wooden_table_stays_light_when_the_student_says_the_background_is_dark():
    rng = np.random.default_rng(0)
    wood = np.clip(rng.normal(150, 12, (200, 300)), 0, 255).astype(np.uint8)  # lighter than mid-gray
    photo = wood.copy()
    photo[80:140, 60:240] = 250  # the sneaker: a white band
    picture = Image.fromarray(photo)
    item = (slice(11, 17), slice(4, 24))  # where the band lands in 28x28
    guessed = prepare_input(picture, "fashion")  # the edges look light: read as a dark item
    told = prepare_input(picture, "fashion", background="dark")
    assert told[0, 0][item].mean() > 0.3 and told[0, 0][:5].mean() < 0.05  # a light item on black
    assert guessed[0, 0][item].mean() < told[0, 0][item].mean() / 3
    with pytest.raises(ValueError, match="background must be one of"):
        prepare_input(picture, "fashion", background="wood")


def test_with_centring_off_a_small_digit_in_a_corner_stays_small_and_in_its_corner():
    corner = canvas(box=(20, 20, 70, 100), width=12)
    centred = prepare_drawing(corner)[0, 0].numpy()
    as_drawn = prepare_drawing(corner, centre=False)[0, 0].numpy()
    assert centre_of_mass(centred) == pytest.approx((14, 14), abs=1.5)
    cy, cx = centre_of_mass(as_drawn)
    assert cy < 8 and cx < 8  # where it was drawn, scaled to 28x28
    assert (as_drawn > 0.1).sum() < (centred > 0.1).sum() / 2  # and as small as it was drawn
