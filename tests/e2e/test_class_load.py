"""The class load test's replayed students (benchmarks/replay_client) against the real app:
what chromium sent for a stroke, replayed by three students without a browser for ten seconds,
must get every stroke answered, with the digit drawn, and each student must stay its own."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from benchmarks.replay_client import ReplayedStudent, Tally
from benchmarks.ws_capture import capture

pytestmark = pytest.mark.e2e

STUDENTS = 3
SECONDS = 10
DEADLINE = 150  # the capture's chromium, three page loads and the lesson, on a busy machine


async def lesson(url: str) -> tuple[list[ReplayedStudent], Tally]:
    captured = await capture(url)
    tally = Tally()
    students = [ReplayedStudent(url, captured, tally) for _ in range(STUDENTS)]
    await asyncio.gather(*(s.open() for s in students))
    until = time.monotonic() + SECONDS
    await asyncio.gather(*(s.attend(until) for s in students))
    await asyncio.gather(*(s.close() for s in students))
    return students, tally


def test_replayed_students_get_the_digit_they_drew_for_every_stroke(app_url):
    # In a thread of its own: asyncio.run beside the session's sync Playwright, and a deadline.
    pool = ThreadPoolExecutor(1)
    try:
        students, tally = pool.submit(asyncio.run, lesson(app_url)).result(timeout=DEADLINE)
    finally:
        pool.shutdown(wait=False)

    assert [text for _, text in tally.errors] == []  # a stroke with no answer is one of these
    answered = {s.student for s in tally.strokes}
    assert answered == {s.code for s in students}, "a student drew for ten seconds and got no answer"
    assert [(s.digit, s.answer) for s in tally.strokes if s.answer != s.digit] == []
    assert {s.digit for s in tally.strokes} >= {"1", "7"}  # not one stroke replayed over and over
    # The app kept each student's own code in the address: three students, not one seen three times.
    assert sorted(s.address for s in students) == sorted(f"student={s.code}" for s in students)
