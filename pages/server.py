"""What every page needs of the server: its settings, the one job manager and the model catalog
that all sessions share, and who the student in this browser tab is."""

from __future__ import annotations

import secrets

import streamlit as st

from mnistcore.catalog import Catalog, ModelEntry
from mnistcore.classroom import Classroom
from mnistcore.errors import MnistcoreError
from mnistcore.handwriting import Handwriting
from mnistcore.history import STUDENT_CODE, History
from mnistcore.jobs import JobLimits, JobManager
from mnistcore.settings import Settings
from mnistcore.teacher_key import teacher_key, teacher_link


def settings() -> Settings:
    try:
        return Settings.from_env()
    except MnistcoreError as exc:  # a teacher's typo in an MNISTCORE_* variable
        st.error(f"The server is not set up right: {exc}")
        st.stop()


@st.cache_resource(on_release=JobManager.close)
def job_manager() -> JobManager:
    """One per server, shared by every session: the queue is the whole class's. StorageError
    when the runs folder cannot be used; that is not cached, so the next page view tries again.
    Cleared from the cache, it is closed: its runs stop keeping their best epochs, its warm
    workers end (the tests clear it between pages; otherwise each would keep its workers)."""
    s = Settings.from_env()  # checked on every page by the entry script before this runs
    return JobManager(History(s.history_path), s.models_dir, JobLimits.from_settings(s), s.ray_address)


def training_queue() -> JobManager | None:
    """The job manager, or None when the server cannot write its runs folder (or a setting is
    wrong, which ``settings`` reports)."""
    try:
        return job_manager()
    except MnistcoreError:
        return None


@st.cache_resource
def announce_teacher_link() -> None:
    """Print the teacher's link in the server's console, once per server (``make run`` has
    printed it before the server started too)."""
    try:
        print(teacher_link(settings().runs_dir, st.get_option("server.port")), flush=True)
    except MnistcoreError as exc:
        print(f"The teacher's page is off: {exc}", flush=True)


def teacher_key_here() -> str | None:
    """The key that opens the teacher's page; None (and a message) when the server has none."""
    try:
        return teacher_key(settings().runs_dir)
    except MnistcoreError as exc:
        st.error(f"The teacher's page is off: {exc}")
        return None


# One of each per run history, shared by every session: a Classroom remembers when it last
# wrote each student's whereabouts.
@st.cache_resource
def _classroom(history_path: str) -> Classroom:
    return Classroom(History(history_path))


@st.cache_resource
def _handwriting(history_path: str) -> Handwriting:
    return Handwriting(History(history_path))


def classroom() -> Classroom | None:
    """The class's names, whereabouts and the teacher's suggestion; None when the server
    cannot write its runs folder. Not through the job manager: the class is there even when
    training is off."""
    try:
        return _classroom(str(settings().history_path))
    except MnistcoreError:
        return None


def handwriting() -> Handwriting | None:
    """The class's kept drawings; None when the server cannot write its runs folder."""
    try:
        return _handwriting(str(settings().history_path))
    except MnistcoreError:
        return None


def catalog() -> Catalog:
    manager = training_queue()
    s = settings()
    return Catalog(s.saved_dir, manager.history if manager else None, s.saved_per_student)


@st.cache_data(ttl=10, max_entries=2000, show_spinner=False)
def offered_models(_catalog: Catalog, dataset: str | None, viewer: str) -> list[ModelEntry]:
    """What ``viewer`` may pick, read from the catalog at most every 10 s: each stroke on the
    Draw page reruns its model picker, and a class drawing at once would otherwise read SQLite
    and stat every saved model on each (8-10% of the server's time, benchmarks/class_load.py).
    A save or a delete on this server clears it at once."""
    return _catalog.offered(dataset, viewer)


def student_id() -> str:
    """Who is using this browser tab, kept in the URL (``?student=...``) so that a reload or a
    return to the page finds the same runs. Not a login: anyone with the link sees the runs.
    A code in the link that is not one of ours gets a new one, and the student is told why."""
    token = st.session_state.get("student") or st.query_params.get("student", "")
    if not STUDENT_CODE.fullmatch(token):
        if token:
            st.warning(
                "The student code in this page's address was not one this app makes, so this tab got a new "
                "one. Runs you started under another code are still there: open the address you had then.",
                icon=":material/badge:",
            )
        token = secrets.token_hex(8)
    st.session_state.student = token
    st.query_params["student"] = token
    return token
