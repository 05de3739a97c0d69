"""Which run a student's Train page follows: the one they picked, else the one training."""

from mnistcore.history import JobRecord
from mnistcore.jobs import job_to_watch
from mnistcore.status import Status


def job(id_: int, status: Status) -> JobRecord:
    return JobRecord(id_, "ann", f"run {id_}", status, "", 0.0, None, None, 0, 0, 0, 25)


def test_the_page_follows_the_run_that_trains_not_the_newest_waiting_one():
    jobs = [job(7, Status.COMPLETED), job(8, Status.COMPLETED), job(9, Status.RUNNING), job(10, Status.QUEUED)]
    assert job_to_watch(jobs).id == 9


def test_with_none_training_the_next_to_train_then_the_newest():
    assert job_to_watch([job(1, Status.COMPLETED), job(2, Status.QUEUED), job(3, Status.QUEUED)]).id == 2
    assert job_to_watch([job(1, Status.COMPLETED), job(2, Status.CANCELLED)]).id == 2
    assert job_to_watch([]) is None


def test_a_picked_run_is_shown_while_it_exists():
    jobs = [job(1, Status.COMPLETED), job(2, Status.RUNNING)]
    assert job_to_watch(jobs, pinned=1).id == 1
    assert job_to_watch(jobs, pinned=99).id == 2  # gone (or never this student's): the one training
