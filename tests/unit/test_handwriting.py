import dataclasses
import io
import sqlite3
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from mnistcore.errors import LimitError
from mnistcore.evaluation import evaluate, predict_probabilities
from mnistcore.handwriting import PNG_SIGNATURE, ClassDrawing, Handwriting, ink_png
from mnistcore.history import History
from mnistcore.models import build_model

ANN, BOB = "0123456789abcdef", "fedcba9876543210"


def ink() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (280, 280)).save(out, format="PNG")
    return out.getvalue()


INK = ink()


def digit(marker: int = 0, seed: int = 0) -> np.ndarray:
    """A model input with one white pixel at (0, marker), to tell drawings apart once read back."""
    image = np.random.default_rng(seed).uniform(0, 0.5, (28, 28)).astype(np.float32)
    image[0, marker] = 1.0
    return image


def markers(images: torch.Tensor) -> set[int]:
    return set(images[:, 0, :].argmax(1).tolist())


@pytest.fixture
def handwriting(tmp_path) -> Handwriting:
    return Handwriting(History(tmp_path / "history.sqlite"))


def test_kept_drawings_are_counted_per_digit_and_read_back_as_given(handwriting):
    first = digit(seed=1)
    handwriting.add(ANN, 3, first, INK)
    handwriting.add(BOB, 3, torch.from_numpy(digit(seed=2)).reshape(1, 1, 28, 28), INK)
    handwriting.add(ANN, 7, digit(seed=3), INK)
    assert handwriting.counts() == [0, 0, 0, 2, 0, 0, 0, 1, 0, 0]
    assert handwriting.size() == 3
    oldest = handwriting.drawings(label=3)[-1]
    assert oldest.image.dtype == np.float32 and oldest.image.shape == (28, 28)
    assert np.abs(oldest.image - first).max() <= 0.5 / 255 + 1e-6


def test_the_class_sees_drawings_by_digit_newest_first_and_never_whose(handwriting):
    threes = [handwriting.add(owner, 3, digit(), INK) for owner in (ANN, BOB, ANN)]
    five = handwriting.add(BOB, 5, digit(), INK)
    shown = handwriting.drawings(label=3)
    assert [d.id for d in shown] == threes[::-1] and {d.label for d in shown} == {3}
    assert [d.id for d in handwriting.drawings(label=3, limit=1, offset=1)] == [threes[1]]
    assert len(handwriting.drawings()) == 4
    assert [f.name for f in dataclasses.fields(ClassDrawing)] == ["id", "label", "image", "created"]
    assert [d.id for d in handwriting.mine(BOB)] == [five, threes[1]]  # what Bob may delete


def test_a_student_deletes_only_their_own_and_the_teacher_any(handwriting):
    anns = handwriting.add(ANN, 1, digit(), INK)
    bobs = handwriting.add(BOB, 2, digit(), INK)
    assert handwriting.delete(bobs, ANN) is False
    assert handwriting.size() == 2
    assert handwriting.delete(anns, ANN) is True
    assert handwriting.delete(anns, ANN) is False  # already gone
    assert handwriting.delete(bobs, None) is True  # the teacher
    assert handwriting.size() == 0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"label": 10}, "0 to 9"),
        ({"label": -1}, "0 to 9"),
        ({"label": True}, "0 to 9"),
        ({"label": 3.0}, "0 to 9"),
        ({"model_input": np.zeros((28, 27))}, "28 x 28"),
        ({"model_input": np.zeros((1, 28, 28))}, "28 x 28"),
        ({"model_input": np.full((28, 28), np.nan)}, "between 0 and 1"),
        ({"model_input": np.full((28, 28), 1.5)}, "between 0 and 1"),
        ({"model_input": np.full((28, 28), -0.1)}, "between 0 and 1"),
        ({"model_input": np.zeros((28, 28), dtype=bool)}, "numbers"),
        ({"model_input": [[0.0] * 28] * 28}, "array or a tensor"),
        ({"ink_png": b"GIF89a..."}, "PNG"),
        ({"ink_png": INK + bytes(2 * 1024 * 1024)}, "larger than a pad sends"),
        ({"owner": ANN.upper()}, "16 characters"),
        ({"owner": ANN[:15]}, "16 characters"),
        ({"owner": None}, "16 characters"),
    ],
)
def test_a_drawing_that_no_pad_would_send_is_refused_with_a_message(handwriting, change, message):
    drawing = {"owner": ANN, "label": 3, "model_input": digit(), "ink_png": INK} | change
    with pytest.raises(ValueError, match=message):
        handwriting.add(**drawing)
    assert handwriting.size() == 0


def test_a_student_may_keep_only_so_many_drawings_and_the_class_only_so_many(tmp_path):
    history = History(tmp_path / "history.sqlite")
    handwriting = Handwriting(history, max_per_student=2, max_in_class=3)
    first = handwriting.add(ANN, 1, digit(), INK)
    handwriting.add(ANN, 1, digit(), INK)
    with pytest.raises(LimitError, match="You have kept 2 drawings"):
        handwriting.add(ANN, 1, digit(), INK)
    handwriting.add(BOB, 1, digit(), INK)  # another student still may
    with pytest.raises(LimitError, match="The class has kept 3 drawings"):
        handwriting.add(BOB, 1, digit(), INK)
    handwriting.delete(first, ANN)
    handwriting.add(ANN, 1, digit(), INK)  # room again once one is deleted
    assert handwriting.size() == 3


def test_the_held_out_drawings_are_a_quarter_never_trained_on_and_stay_held_out(handwriting):
    for marker in range(12):
        handwriting.add(ANN, marker % 10, digit(marker), INK)
    train, held_out = markers(handwriting.as_tensors("train")[0]), markers(handwriting.as_tensors("held-out")[0])
    assert len(held_out) == 3 and not train & held_out and train | held_out == set(range(12))
    assert markers(handwriting.as_tensors("held-out")[0]) == held_out  # the same every time
    for marker in range(12, 24):
        handwriting.add(BOB, marker % 10, digit(marker), INK)
    assert held_out < markers(handwriting.as_tensors("held-out")[0])
    assert train < markers(handwriting.as_tensors("train")[0])
    with pytest.raises(ValueError, match="split"):
        handwriting.as_tensors("test")


def test_a_model_is_measured_on_the_class_handwriting(handwriting):
    inputs = [digit(marker, seed=marker) for marker in range(6)]
    for marker, image in enumerate(inputs):
        handwriting.add(ANN, marker, image, INK)
    images, labels = handwriting.as_tensors()
    model = build_model("logreg", mean=0.1307, std=0.3081)
    result = evaluate(model, images, labels)
    assert result.labels.tolist() == [0, 1, 2, 3, 4, 5]
    # The same answers the Draw page got for these drawings (to the 1/255 they are kept to).
    given = torch.from_numpy(np.rint(np.stack(inputs) * 255) / 255).float().unsqueeze(1)
    assert np.allclose(result.probabilities, predict_probabilities(model, given).numpy(), atol=1e-5)


def test_the_npz_export_reads_back_like_mnist_without_owners(handwriting):
    inputs = [digit(marker, seed=marker) for marker in range(3)]
    for label, image in zip((4, 0, 9), inputs, strict=True):
        handwriting.add(ANN, label, image, INK)
    with np.load(io.BytesIO(handwriting.export_npz())) as exported:
        assert sorted(exported.files) == ["images", "labels"]
        assert exported["images"].dtype == np.uint8 and exported["images"].shape == (3, 28, 28)
        assert np.array_equal(exported["images"], np.rint(np.stack(inputs) * 255).astype(np.uint8))
        assert exported["labels"].tolist() == [4, 0, 9]


def test_the_png_export_is_one_folder_per_digit_of_28_by_28_pictures(handwriting):
    ids = {handwriting.add(ANN, label, digit(label), INK): label for label in range(10)}
    with zipfile.ZipFile(io.BytesIO(handwriting.export_png_zip())) as archive:
        names = set(archive.namelist())
        assert names == {"README.txt"} | {f"{label}/{i}.png" for i, label in ids.items()}
        assert "10 drawings" in archive.read("README.txt").decode()
        for i, label in ids.items():
            picture = Image.open(io.BytesIO(archive.read(f"{label}/{i}.png")))
            assert picture.size == (28, 28) and picture.mode == "L"
            assert np.asarray(picture)[0].argmax() == label  # its own drawing, in its digit's folder


def test_clearing_empties_the_class_handwriting_and_no_number_is_given_twice(handwriting):
    handwriting.add(ANN, 1, digit(), INK)
    last = handwriting.add(BOB, 2, digit(), INK)
    assert handwriting.clear() == 2
    assert handwriting.size() == 0 and handwriting.drawings() == [] and handwriting.counts() == [0] * 10
    assert handwriting.as_tensors()[0].shape == (0, 28, 28)
    assert handwriting.add(ANN, 1, digit(), INK) > last  # an old delete button cannot remove it


def test_a_damaged_row_is_skipped_everywhere_it_is_read(tmp_path):
    history = History(tmp_path / "history.sqlite")
    handwriting = Handwriting(history)
    kept = [handwriting.add(ANN, label, digit(label), INK) for label in (1, 2, 3, 4)]
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        db.execute("UPDATE drawings SET input = ? WHERE id = ?", (b"abc", kept[0]))
        db.execute("UPDATE drawings SET label = 42 WHERE id = ?", (kept[1],))
        db.execute("UPDATE drawings SET created = 'soon' WHERE id = ?", (kept[3],))
    assert handwriting.counts() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert [d.id for d in handwriting.drawings(limit=1)] == [kept[2]]  # a page is not cut short by the newest
    assert [d.id for d in handwriting.mine(ANN)] == [kept[2]]
    assert handwriting.as_tensors()[1].tolist() == [3]
    with np.load(io.BytesIO(handwriting.export_npz())) as exported:
        assert exported["labels"].tolist() == [3]
    with zipfile.ZipFile(io.BytesIO(handwriting.export_png_zip())) as archive:
        assert archive.namelist() == ["README.txt", f"3/{kept[2]}.png"]


def test_the_kept_ink_is_a_plain_png_of_the_picture():
    picture = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    picture.putpixel((140, 140), (255, 255, 255, 255))
    data = ink_png(picture)
    assert data.startswith(PNG_SIGNATURE)
    assert Image.open(io.BytesIO(data)).getpixel((140, 140)) == (255, 255, 255, 255)
