import csv
import io
import json
import math
import stat
import threading
from dataclasses import replace

import pytest

from mnistcore.class_charts import class_curves
from mnistcore.classroom import (
    AWAY,
    GROUP_BY,
    UNNAMED,
    Classroom,
    check_display_name,
    class_csv,
    class_runs,
    clear_class,
    groups,
    leaderboard,
)
from mnistcore.errors import MnistcoreError
from mnistcore.history import History
from mnistcore.presets import FIRST_PRESET, PRESETS, TrainForm
from mnistcore.teacher_key import FILE_NAME, VARIABLE, is_teacher, teacher_key
from mnistcore.training import EpochMetrics, TrainConfig

ANN, BOB, CAT, DAN = (f"{i:016x}" for i in (0xA, 0xB, 0xC, 0xD))


@pytest.fixture
def history(tmp_path):
    return History(tmp_path / "history.sqlite")


@pytest.fixture
def room(history):
    return Classroom(history)


def add_run(history, owner, losses, **settings):
    """A job of one run whose validation loss was ``losses`` epoch by epoch; its run's id."""
    config = TrainConfig(dataset="mnist", epochs=max(1, len(losses)), **settings)
    job = history.add_job(owner, "a run", [config])
    run = history.runs(job)[0]
    for epoch, loss in enumerate(losses, 1):
        history.add_epoch(run.id, EpochMetrics(0, epoch, 0.3, loss, 0.9, 1.0, False))
    return run.id


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, kept",
    [
        ("  Ann   Lee \n", "Ann Lee"),
        ("Zoe\u0308", "Zo\u00eb"),  # NFC: e and a combining diaeresis become one letter
        ("Mia 🦊", "Mia 🦊"),
        ("👩\u200d👩\u200d👧", "👩\u200d👩\u200d👧"),  # a family emoji keeps the joiners that make it one
        ("x" * 24, "x" * 24),
    ],
)
def test_a_name_is_tidied_and_kept(raw, kept):
    assert check_display_name(raw) == kept


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   \t ",
        "x" * 25,
        "Ann\x00",
        "Ann\x1b[31m",
        "\u202eeve",  # right-to-left override: would show as another name
        "A\u200bnn",  # zero-width space
        "An\u200dn",  # a joiner between letters is hidden, not an emoji
        "\ud800",  # a lone surrogate
        42,
        None,
    ],
)
def test_names_that_hide_or_overflow_are_refused_in_plain_words(raw):
    with pytest.raises(ValueError) as refused:
        check_display_name(raw)
    assert "name" in str(refused.value)


def test_a_student_sets_a_name_and_reads_it_back(room):
    assert room.name_of(ANN) is None
    assert room.set_name(ANN, "  Ann ") == "Ann"
    assert room.name_of(ANN) == "Ann"
    with pytest.raises(ValueError):
        room.set_name(ANN, "x" * 30)
    assert room.name_of(ANN) == "Ann"  # a refused name leaves the old one
    room.seen(BOB, "drawing")
    assert room.name_of(BOB) is None  # seen but never named
    with pytest.raises(ValueError):
        room.set_name("not-a-code", "Eve")


# --- who is here --------------------------------------------------------------------------------


def test_the_roster_shows_who_is_here_and_whose_runs_train_or_wait(history, room):
    room.set_name(ANN, "Ann")
    room.set_name(BOB, "Bob")
    room.set_name(CAT, "Cat")
    room.set_name(DAN, "Dan")
    room.seen(ANN, "drawing", now=1000)
    room.seen(BOB, "training", now=1000)
    room.seen(CAT, "looking", now=500)  # gone, but a run of theirs waits
    room.seen(DAN, "looking", now=500)  # gone, nothing of theirs left
    bobs = history.add_job(BOB, "bob", [TrainConfig()])
    history.start_job(bobs)
    history.add_job(BOB, "bob again", [TrainConfig(lr=0.01)])
    history.add_job(CAT, "cat", [TrainConfig()])
    history.add_job("e" * 16, "never seen", [TrainConfig()])
    ended = history.add_job(ANN, "ann", [TrainConfig()])
    history.finish_job(ended, "completed")

    roster = {s.name: s for s in room.roster(now=1030, within_s=120)}
    assert list(roster) == ["Ann", "Bob", "Cat", UNNAMED]
    assert (roster["Ann"].doing, roster["Ann"].running, roster["Ann"].queued) == ("drawing", 0, 0)
    assert (roster["Bob"].doing, roster["Bob"].running, roster["Bob"].queued) == ("training", 1, 1)
    assert (roster["Cat"].doing, roster["Cat"].queued, roster["Cat"].seen_s_ago) == (AWAY, 1, 530)
    assert roster[UNNAMED].seen_s_ago is None and roster[UNNAMED].queued == 1
    assert roster["Ann"].seen_s_ago == 30


def test_seen_refuses_an_unknown_activity_and_writes_a_change_at_once(history, room):
    with pytest.raises(ValueError):
        room.seen(ANN, "hacking")
    room.seen(ANN, "drawing", now=1000)
    room.seen(ANN, "drawing", now=1005)  # a rerun: not written again
    assert history.read("SELECT seen FROM students")[0]["seen"] == 1000
    room.seen(ANN, "training", now=1006)
    assert room.roster(now=1010)[0].doing == "training"


# --- the class's runs ---------------------------------------------------------------------------


def test_class_runs_are_those_with_an_epoch_named_by_their_student(history, room):
    room.set_name(ANN, "Ann")
    ann = add_run(history, ANN, [0.5, 0.3, 0.4])
    add_run(history, BOB, [])  # queued: no epoch yet
    bob = add_run(history, BOB, [0.9])
    history.set_run(ann, test_accuracy=0.97)
    runs = class_runs(history)
    assert [(r.run_id, r.student) for r in runs] == [(ann, "Ann"), (bob, UNNAMED)]
    assert (runs[0].best_val_loss, runs[0].best_epoch, runs[0].test_accuracy) == (0.3, 2, 0.97)
    assert runs[0].epochs[2] == {"epoch": 3, "train_loss": 0.3, "val_loss": 0.4, "val_accuracy": 0.9}
    assert runs[1].test_accuracy is None and runs[1].status == "queued"


def test_class_runs_need_no_classroom_made_first(history):
    add_run(history, ANN, [0.5])
    assert [r.student for r in class_runs(history)] == [UNNAMED]


def test_groups_by_dropout_give_each_epochs_mean_spread_and_count(history):
    add_run(history, ANN, [1.0, 0.8, 0.6])
    add_run(history, BOB, [0.6, 0.4, 0.2])
    add_run(history, CAT, [0.5, 0.45, 0.4], dropout=0.2)
    without, with_ = groups(class_runs(history), "dropout")
    assert (without.label, with_.label) == ("without dropout", "with dropout")
    assert len(without.runs) == 2 and without.epochs == [1, 2, 3] and without.count == [2, 2, 2]
    assert without.mean == pytest.approx([0.8, 0.6, 0.4])
    assert without.low == pytest.approx([0.6, 0.4, 0.2]) and without.high == pytest.approx([1.0, 0.8, 0.6])
    assert without.sd == pytest.approx([0.2, 0.2, 0.2])
    assert with_.mean == pytest.approx([0.5, 0.45, 0.4]) and with_.sd == [0.0, 0.0, 0.0]


def test_a_groups_mean_at_an_epoch_is_over_the_runs_that_reached_it(history):
    add_run(history, ANN, [1.0, 0.8, 0.6])
    add_run(history, BOB, [0.6])  # stopped after one epoch
    (group,) = groups(class_runs(history), "dropout")
    assert group.epochs == [1, 2, 3] and group.count == [2, 1, 1]
    assert group.mean == pytest.approx([0.8, 0.8, 0.6]) and group.low == pytest.approx([0.6, 0.8, 0.6])


def test_every_setting_a_teacher_picks_groups_in_plain_words(history):
    add_run(history, ANN, [0.5], arch="cnn", lr=0.01, train_size=1000)
    add_run(history, BOB, [0.5], arch="logreg")
    runs = class_runs(history)
    labels = {by: [g.label for g in groups(runs, by)] for by in GROUP_BY}
    assert labels["model"] == ["simple one-layer model", "convolutional network"]
    assert labels["learning rate"] == ["learning rate 0.003", "learning rate 0.01"]
    assert labels["training images"] == ["1,000 training images", "50,000 training images"]
    assert labels["dataset"] == ["MNIST digits"]


def test_an_unknown_grouping_is_refused(history):
    with pytest.raises(ValueError):
        groups(class_runs(history), "favourite colour")


def test_the_leaderboard_ranks_by_best_validation_loss(history, room):
    room.set_name(ANN, "Ann")
    room.set_name(BOB, "Bob")
    add_run(history, ANN, [0.9, 0.7])
    best = add_run(history, BOB, [0.6, 0.2, 0.5], dropout=0.5)
    add_run(history, CAT, [0.4])
    history.set_run(best, test_accuracy=0.95)
    rows = leaderboard(class_runs(history))
    assert [(r["student"], r["best validation loss"]) for r in rows] == [("Bob", 0.2), (UNNAMED, 0.4), ("Ann", 0.7)]
    assert rows[0] == {
        "student": "Bob",
        "what": "Layered network on MNIST digits, 50,000 images, 3 epochs",
        "dropout": 0.5,
        "best epoch": 2,
        "best validation loss": 0.2,
        "test accuracy": 0.95,
    }
    assert len(leaderboard(class_runs(history), limit=2)) == 2


# --- the suggestion -----------------------------------------------------------------------------


def test_a_suggestion_comes_back_as_the_form_it_was(room):
    assert room.suggestion() is None
    form = replace(TrainForm.from_preset(PRESETS[FIRST_PRESET]), lr=0.01, epochs=7)
    first = room.suggest(form)
    pushed = room.suggestion()
    assert pushed is not None and pushed.id == first and pushed.form == form and pushed.title == form.title
    room.withdraw()
    assert room.suggestion() is None
    assert room.suggest(form) != first  # a new suggestion is told from a withdrawn one


def test_a_form_that_cannot_train_is_not_suggested(room):
    with pytest.raises(ValueError):
        room.suggest(replace(TrainForm.from_preset(PRESETS[FIRST_PRESET]), lr=0.0))
    assert room.suggestion() is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda values: "{not json",
        lambda values: json.dumps([1, 2]),
        lambda values: json.dumps({**values, "lr": "fast"}),
        lambda values: json.dumps({**values, "dataset": "cifar"}),
        lambda values: json.dumps({k: v for k, v in values.items() if k != "epochs"}),
    ],
)
def test_a_suggestion_row_that_no_longer_makes_a_form_is_ignored(history, room, tamper):
    form = TrainForm.from_preset(PRESETS[FIRST_PRESET])
    room.suggest(form)
    with history.write() as db:
        db.execute("UPDATE suggestions SET form = ?", (tamper(form.as_values()),))
    assert room.suggestion() is None


# --- export and clearing ------------------------------------------------------------------------


def test_the_class_csv_has_every_epoch_with_names_and_defuses_formulas(history, room):
    room.set_name(ANN, "=cmd|' /C calc'!A0")
    room.set_name(BOB, "Bob")
    add_run(history, ANN, [0.5, 0.4], dropout=0.2)
    add_run(history, BOB, [0.7], train_size=500)
    rows = list(csv.DictReader(io.StringIO(class_csv(history))))
    assert [(r["student"], r["epoch"]) for r in rows] == [
        ("'=cmd|' /C calc'!A0", "1"),
        ("'=cmd|' /C calc'!A0", "2"),
        ("Bob", "1"),
    ]
    assert rows[0]["run"] == "with dropout 0.2" and rows[0]["dropout"] == "0.2" and rows[1]["val_loss"] == "0.4"
    assert rows[0]["train_size"] == "50000" and rows[2]["train_size"] == "500" and rows[2]["job"] == "2"


def test_clearing_the_class_forgets_names_and_the_suggestion_only(history, room):
    room.set_name(ANN, "Ann")
    room.seen(BOB, "drawing")
    room.suggest(TrainForm.from_preset(PRESETS[FIRST_PRESET]))
    add_run(history, ANN, [0.5])
    assert clear_class(history) == {"names": 2, "suggestions": 1}
    assert room.name_of(ANN) is None and room.suggestion() is None
    assert [r.student for r in class_runs(history)] == [UNNAMED]  # the runs are the caller's to remove


# --- the teacher's key --------------------------------------------------------------------------


def test_a_teacher_key_is_made_once_kept_private_and_stays(tmp_path):
    runs = tmp_path / "runs"
    key = teacher_key(runs, env={})
    assert len(key) >= 16 and teacher_key(runs, env={}) == key
    assert stat.S_IMODE((runs / FILE_NAME).stat().st_mode) == 0o600
    assert teacher_key(tmp_path / "other", env={}) != key


def test_threads_starting_at_once_agree_on_one_key(tmp_path):
    start, keys = threading.Barrier(8), []

    def ask():
        start.wait()
        keys.append(teacher_key(tmp_path, env={}))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no spare files left behind


@pytest.mark.parametrize("spoilt", [b"", b"short", b"\xff\xfe not text at all"])
def test_an_empty_or_spoilt_key_file_is_replaced(tmp_path, spoilt):
    (tmp_path / FILE_NAME).write_bytes(spoilt)
    key = teacher_key(tmp_path, env={})
    assert key.encode() not in (spoilt, b"") and teacher_key(tmp_path, env={}) == key


def test_the_teachers_own_key_is_used_and_checked(tmp_path):
    assert teacher_key(tmp_path, env={VARIABLE: " my-class_key-2024 "}) == "my-class_key-2024"
    assert not (tmp_path / FILE_NAME).exists()
    for bad in ("short", "has spaces in it", "x" * 129, "naïve-key-here"):
        with pytest.raises(MnistcoreError) as refused:
            teacher_key(tmp_path, env={VARIABLE: bad})
        assert VARIABLE in str(refused.value) and bad not in str(refused.value)


def test_only_the_key_itself_is_the_teacher():
    assert is_teacher("my-class-key", "my-class-key")
    for given in ("my-class-kez", "", "my-class-key ", None, 42, b"my-class-key", ["my-class-key"], "ké"):
        assert not is_teacher(given, "my-class-key")
    assert not is_teacher("", "")


# --- the chart ----------------------------------------------------------------------------------


def test_the_class_chart_has_a_legend_entry_and_a_band_per_group(history):
    add_run(history, ANN, [1.0, 0.8, 0.6])
    add_run(history, BOB, [0.6, 0.4, 0.2])
    add_run(history, CAT, [0.8, 0.6, 0.4])
    add_run(history, DAN, [0.5, 0.45], dropout=0.2)
    by_dropout = groups(class_runs(history), "dropout")
    fig = class_curves(by_dropout)
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == ["without dropout (3 runs)", "with dropout (1 run)"]
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert len(bands) == 2 and list(bands[0].y) == pytest.approx([1.0, 0.8, 0.6])
    assert fig.layout.font.size == 18 and fig.layout.xaxis.title.text == "epoch"
    assert fig.layout.yaxis.title.text == "validation loss"
    # each band's lower edge is the trace just before it: what "tonexty" fills down to
    lower = fig.data[list(fig.data).index(bands[0]) - 1]
    assert list(lower.y) == pytest.approx([0.6, 0.4, 0.2])
    sd = [t for t in class_curves(by_dropout, band="sd").data if t.fill == "tonexty"]
    spread = math.sqrt(0.08 / 3)  # of 1.0, 0.6 and 0.8 about their mean
    assert list(sd[0].y) == pytest.approx([m + spread for m in (0.8, 0.6, 0.4)])
    faint = [t for t in fig.data if t.hoverinfo == "skip" and t.line.width == 1]
    assert len(faint) == 4


def test_one_group_still_shows_its_count_and_a_bad_band_is_refused(history):
    add_run(history, ANN, [0.5, 0.4])
    one = groups(class_runs(history), "dropout")
    assert class_curves(one).layout.showlegend is True
    with pytest.raises(ValueError):
        class_curves(one, band="quartiles")
    empty = class_curves([])
    assert not empty.data and not math.isnan(empty.layout.height)
