"""What the teacher's page does to the class as a whole: how many train at once, and clearing
the class's work after a lesson."""

import numpy as np
import pytest
from PIL import Image

from mnistcore.catalog import Catalog
from mnistcore.classroom import Classroom, class_runs, end_lesson
from mnistcore.handwriting import Handwriting, ink_png
from mnistcore.history import History
from mnistcore.jobs import MAX_RUNNING, JobLimits, JobManager
from mnistcore.presets import PRESETS, TrainForm, with_seeds
from mnistcore.status import Status
from mnistcore.training import EpochMetrics, TrainConfig

ANN, BOB = (f"{i:016x}" for i in (0xA, 0xB))


@pytest.fixture
def manager(tmp_path):
    # Nothing trains: the scheduler may start no worker in a unit test.
    m = JobManager(History(tmp_path / "history.sqlite"), tmp_path / "models", JobLimits(max_running=0))
    yield m
    m.close()


def finished_run(manager, owner, checkpoint=True):
    job = manager.history.add_job(owner, "a run", [TrainConfig(dataset="mnist", epochs=1)])
    run = manager.history.runs(job)[0]
    manager.history.add_epoch(run.id, EpochMetrics(0, 1, 0.3, 0.4, 0.9, 1.0, True))
    if checkpoint:
        path = manager.models_dir / f"run-{run.id}.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")
        manager.history.set_run(run.id, checkpoint=str(path))
    manager.history.finish_job(job, Status.COMPLETED)
    return job


def test_the_teacher_changes_how_many_train_at_once_within_bounds(manager):
    assert manager.set_max_running(3) == 3
    assert manager.limits.max_running == 3
    for bad in (0, MAX_RUNNING + 1, 2.5, "4", True, None):
        with pytest.raises(ValueError, match="whole number from 1"):
            manager.set_max_running(bad)
    assert manager.limits.max_running == 3


def test_forgetting_ended_jobs_keeps_waiting_ones_and_deletes_their_weights(manager, tmp_path):
    done = finished_run(manager, ANN)
    weights = manager.models_dir / f"run-{manager.history.runs(done)[0].id}.pt"
    elsewhere = tmp_path / "not-a-run.pt"
    elsewhere.write_bytes(b"keep me")
    edited = finished_run(manager, BOB, checkpoint=False)
    manager.history.set_run(manager.history.runs(edited)[0].id, checkpoint=str(elsewhere))  # a row edited by hand
    waiting = manager.history.add_job(BOB, "waits", [TrainConfig(dataset="mnist")])

    assert manager.forget_ended() == 2
    assert [j.id for j in manager.jobs()] == [waiting]
    assert not weights.exists()
    assert elsewhere.read_bytes() == b"keep me"
    assert manager.history.read("SELECT COUNT(*) AS n FROM epochs")[0]["n"] == 0


def test_the_end_of_a_lesson_clears_runs_models_names_and_optionally_drawings(manager, tmp_path):
    room = Classroom(manager.history)
    room.set_name(ANN, "Ann")
    room.suggest(TrainForm.from_preset(PRESETS["Quick overfit"]))
    finished_run(manager, ANN)
    waiting = manager.history.add_job(ANN, "waits", [TrainConfig(dataset="mnist")])
    catalog = Catalog(tmp_path / "saved", manager.history)
    manager.history.reserve_saved("anns-model", ANN, None, 10)
    manager.history.mark_saved("anns-model")
    (tmp_path / "saved" / "anns-model").mkdir(parents=True)
    drawings = Handwriting(manager.history)
    drawings.add(ANN, 4, np.zeros((28, 28)), ink_png(Image.new("L", (280, 280))))

    gone = end_lesson(manager, catalog)
    assert gone["runs stopped"] == 1 and gone["saved models"] == 1 and gone["names"] == 1
    assert manager.job(waiting) is None  # cancelled, then forgotten with the ended ones
    assert manager.jobs() == [] and class_runs(manager.history) == []
    assert not (tmp_path / "saved" / "anns-model").exists() and catalog.saved() == []
    assert room.name_of(ANN) is None and room.suggestion() is None
    assert drawings.size() == 1  # the class's handwriting stays unless the teacher says so

    assert end_lesson(manager, catalog, drawings)["drawings"] == 1
    assert drawings.size() == 0


def test_class_runs_of_some_jobs_only(manager):
    first, second = finished_run(manager, ANN), finished_run(manager, BOB)
    assert [r.job_id for r in class_runs(manager.history, [second])] == [second]
    assert [r.job_id for r in class_runs(manager.history, [first, second])] == [first, second]
    assert class_runs(manager.history, []) == []


def test_a_student_knows_only_names_that_were_given(manager):
    room = Classroom(manager.history)
    room.set_name(ANN, "Ann")
    room.seen(BOB, "drawing")
    assert room.names() == {ANN: "Ann"}


def test_three_seeds_are_the_same_experiment_with_the_seed_counting_up():
    form = TrainForm.from_preset(PRESETS["Quick overfit"])
    forms = with_seeds(form)
    assert [f.seed for f in forms] == [form.seed, form.seed + 1, form.seed + 2]
    assert {TrainForm.from_values({**f.as_values(), "seed": 0}) for f in forms} == {
        TrainForm.from_values({**form.as_values(), "seed": 0})
    }
    for f in forms:
        f.configs()  # each can train
