"""Saved models: each in a folder of its own, owned, claimed in one transaction, limited per
student; files on disk are checked, never trusted."""

import json
import logging
import os
import threading

import pytest
import torch

from mnistcore.cards import ModelCard
from mnistcore.catalog import Catalog, check_name
from mnistcore.checkpoints import load_checkpoint, model_for_card, save_checkpoint
from mnistcore.errors import CheckpointError, LimitError
from mnistcore.history import History
from mnistcore.snapshots import load_snapshots, save_snapshots, take_snapshot


def trained_run(folder, name, arch="mlp", seed=0, snapshots=True):
    """A run's checkpoint as a worker leaves it: weights, card, and (for small models) epoch snapshots."""
    card = ModelCard(
        dataset="mnist",
        arch=arch,
        dropout=0.2,
        name=name,
        best_epoch=2,
        epochs_trained=2,
        test_accuracy=0.5 + seed / 100,
    )
    torch.manual_seed(seed)
    model = model_for_card(card)
    path = save_checkpoint(folder / f"{name}.pt", model, card)
    if snapshots:
        save_snapshots(path, {1: take_snapshot(model), 2: take_snapshot(model)})
    return path


def same_weights(path_a, path_b) -> bool:
    a, b = load_checkpoint(path_a)[0].state_dict(), load_checkpoint(path_b)[0].state_dict()
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def store(tmp_path):
    shipped = tmp_path / "checkpoints"
    shipped.mkdir()
    trained_run(shipped, "mnist-mlp", seed=9, snapshots=False)
    return Catalog(
        tmp_path / "runs" / "saved",
        History(tmp_path / "runs" / "history.sqlite"),
        saved_per_student=3,
        shipped_dir=shipped,
    )


@pytest.fixture
def runs(tmp_path):
    folder = tmp_path / "runs" / "models"
    folder.mkdir(parents=True)
    return {
        name: trained_run(folder, name, arch=arch, seed=seed, snapshots=arch != "cnn")
        for name, arch, seed in (("run-1", "mlp", 1), ("run-2", "cnn", 2), ("run-3", "mlp", 3))
    }


def test_one_students_save_never_touches_another_students_model(store, runs):
    # Once, B saving an MLP as "x" wrote its epoch snapshots over A's "x.epochs" weights, and
    # A's "yconv" then B's "yconv.epochs" broke the Inside page. Now each model has its own folder.
    store.save(runs["run-2"], "yconv", owner="ann")
    with pytest.raises(CheckpointError, match="1 to 40 letters"):
        store.save(runs["run-1"], "yconv.epochs", owner="ben")
    store.save(runs["run-1"], "x-epochs", owner="ann")
    store.save(runs["run-3"], "x", owner="ben")
    by_name = {e.name: e for e in store.saved()}
    assert sorted(by_name) == ["x", "x-epochs", "yconv"]
    assert same_weights(by_name["yconv"].path, runs["run-2"])
    assert same_weights(by_name["x-epochs"].path, runs["run-1"])
    assert same_weights(by_name["x"].path, runs["run-3"])
    assert sorted(p.name for p in store.saved_dir.iterdir()) == sorted(by_name)  # a folder each, nothing else
    for entry in by_name.values():
        snapshots = load_snapshots(entry.path, entry.card)
        assert len(snapshots) == (2 if entry.card.arch == "mlp" else 0)
    assert by_name["x"].owner == "ben" and by_name["yconv"].owner == "ann"


def save_at_once(store, name: str, sources: dict[str, object]) -> dict[str, str]:
    """Each student saves their source as ``name`` in the same instant; what each was told."""
    start, told = threading.Barrier(len(sources)), {}

    def save(owner, source):
        start.wait()
        try:
            store.save(source, name, owner=owner)
            told[owner] = "saved"
        except CheckpointError as exc:
            told[owner] = str(exc)

    threads = [threading.Thread(target=save, args=item) for item in sources.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return told


def test_of_two_students_saving_one_name_at_once_the_second_is_told_so(store, runs):
    for attempt in range(8):
        name = f"race-{attempt}"
        outcomes = save_at_once(store, name, {"ann": runs["run-1"], "ben": runs["run-2"]})
        assert sorted(outcomes.values()) == [f"A model called {name} already exists; choose another name.", "saved"]
        winner = next(owner for owner, said in outcomes.items() if said == "saved")
        entry = next(e for e in store.saved() if e.name == name)
        assert entry.owner == winner
        source = runs["run-1"] if winner == "ann" else runs["run-2"]
        assert same_weights(entry.path, source)
        assert len(load_snapshots(entry.path, entry.card)) == (2 if winner == "ann" else 0)  # its own run's
        store.delete(name, winner)


def test_a_student_keeps_at_most_the_limit_and_deletes_only_their_own(store, runs):
    for i in range(3):
        store.save(runs["run-1"], f"mine-{i}", owner="ann")
    with pytest.raises(LimitError, match="You have saved 3 models, the most one student may keep"):
        store.save(runs["run-1"], "one-more", owner="ann")
    store.save(runs["run-1"], "bens", owner="ben")  # the limit is per student
    with pytest.raises(CheckpointError, match="not one of yours"):
        store.delete("mine-0", owner="ben")
    store.delete("mine-0", owner="ann")
    assert not (store.saved_dir / "mine-0").exists()
    store.save(runs["run-1"], "one-more", owner="ann")
    assert [e.name for e in store.saved(owner="ann")] == ["mine-1", "mine-2", "one-more"]


def test_compare_offers_the_shipped_models_and_only_the_students_own(store, runs):
    store.save(runs["run-1"], "anns", owner="ann")
    store.save(runs["run-3"], "bens", owner="ben")
    assert [e.name for e in store.shipped("mnist") + store.saved("mnist", owner="ann")] == ["mnist-mlp", "anns"]
    offered = store.offered("mnist", viewer="ben")
    assert [(e.name, e.shipped) for e in offered] == [("mnist-mlp", True), ("bens", False), ("anns", False)]
    assert offered[0].title("ben") == "Layered network (mnist-mlp): 59.0% right"
    assert offered[1].title("ben") == "Layered network (bens, yours): 53.0% right"
    assert offered[2].title("ben") == "Layered network (anns, a classmate's): 51.0% right"
    assert store.offered("fashion", viewer="ben") == []


@pytest.mark.parametrize("raw, name", [("My Run", "my-run"), ("  best_cnn ", "best_cnn"), ("A1", "a1")])
def test_names_are_lower_case_with_spaces_as_dashes(raw, name):
    assert check_name(raw) == name


@pytest.mark.parametrize("raw", ["MNIST-CNN", "mnist-cnn", "fashion-mlp-2", "Mnist-anything"])
def test_a_name_cannot_pass_for_a_shipped_model(raw):
    with pytest.raises(CheckpointError, match="belong to the models that came with the app"):
        check_name(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "../secret",
        "a/b",
        "..",
        ".hidden",
        "",
        "x" * 41,
        "x.epochs",
        "![x](http://127.0.0.1:9/x.png)",
        "[click](http://example.com)",
        "é",
    ],
)
def test_a_name_that_cannot_be_a_folder_name_is_refused_without_repeating_it(raw):
    with pytest.raises(CheckpointError) as refused:
        check_name(raw)
    assert raw.strip() == "" or raw not in str(refused.value)


def test_a_save_on_a_full_disk_says_so_and_leaves_no_trace(store, runs, monkeypatch):
    real_save = torch.save

    def disk_full(obj, f, *args, **kwargs):
        # What torch raises when the disk fills under its zip writer: RuntimeError, not OSError.
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="could not be saved.*disk may be full or read-only"):
        store.save(runs["run-1"], "kept", owner="ann")
    assert not (store.saved_dir / "kept").exists() and store.saved() == []

    def no_space(obj, f, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", no_space)
    with pytest.raises(CheckpointError, match="No space left on device"):
        store.save(runs["run-1"], "kept", owner="ann")
    monkeypatch.setattr(torch, "save", real_save)
    assert store.save(runs["run-1"], "kept", owner="ann").name == "kept"  # the name was released


def test_files_that_do_not_check_out_are_left_out_with_a_log_line_never_offered(store, runs, caplog):
    good = store.save(runs["run-1"], "good", owner="ann")
    for name, owner in (
        ("bad-json", "ann"),
        ("bad-card", "ann"),
        ("wrong-arch", "ben"),
        ("text", "ben"),
        ("link", "cat"),
    ):
        store.save(runs["run-1"], name, owner=owner)
    folder = store.saved_dir
    # The readable card beside the weights is for people; the app never reads it.
    (folder / "bad-json" / "model.json").write_text(json.dumps({"test_accuracy": "99%", "arch": "cnn"}))
    blob = torch.load(folder / "bad-card" / "model.pt", weights_only=True)
    torch.save({**blob, "card": {**blob["card"], "test_accuracy": "99%"}}, folder / "bad-card" / "model.pt")
    blob = torch.load(folder / "wrong-arch" / "model.pt", weights_only=True)
    torch.save({**blob, "card": {**blob["card"], "arch": "cnn", "config": None}}, folder / "wrong-arch" / "model.pt")
    (folder / "text" / "model.pt").write_text("these are my notes\n" * 50)
    notes = folder.parent / "notes.txt"
    notes.write_text("not weights")
    (folder / "link" / "model.pt").unlink()
    os.symlink(notes, folder / "link" / "model.pt")
    with caplog.at_level(logging.WARNING, logger="mnistcore.catalog"):
        offered = store.offered("mnist", viewer="ann")
        again = store.offered("mnist", viewer="ann")
    assert [e.name for e in offered] == ["mnist-mlp", "good", "bad-json"] == [e.name for e in again]
    assert offered[2].card.arch == "mlp" and offered[2].card.test_accuracy == good.card.test_accuracy
    left_out = [r.getMessage() for r in caplog.records]
    assert len(left_out) == 4  # once each, not on every page view
    assert any("test_accuracy must be a number" in line for line in left_out)
    assert any("not those of the model its card names" in line for line in left_out)
