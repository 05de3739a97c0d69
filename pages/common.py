"""Widgets the pages share: the model picker, cached model loading, how a prediction is shown,
and the server's one job manager and catalog. Layout only; the work is in mnistcore."""

from __future__ import annotations

import re
import secrets

import numpy as np
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from mnistcore.catalog import Catalog, ModelEntry
from mnistcore.charts import probability_bars
from mnistcore.checkpoints import load_checkpoint
from mnistcore.data import load_split
from mnistcore.errors import MnistcoreError
from mnistcore.evaluation import Evaluation, evaluate_split
from mnistcore.history import History
from mnistcore.inference import Prediction
from mnistcore.jobs import JobLimits, JobManager
from mnistcore.pictures import enlarge
from mnistcore.settings import Settings


@st.cache_resource(max_entries=32, show_spinner="Loading the model ...")
def _load(path: str, modified_ns: int):
    # Keyed by modification time too, so a re-saved run is loaded afresh.
    return load_checkpoint(path)[0]


def load_model(entry: ModelEntry):
    try:
        return _load(str(entry.path), entry.path.stat().st_mtime_ns)
    except MnistcoreError as exc:
        reason = str(exc)
    except OSError:  # its text names a server path
        reason = "Its file cannot be read."
    st.error(f"The model {entry.name} cannot be used. {reason}")
    st.stop()


def pick_model(dataset: str | None, label: str, key: str, arch: str = "cnn",
               prefer: str | None = None) -> ModelEntry:
    """A model of ``dataset`` (any when None); to begin with, the first ``arch`` one, of the
    ``prefer`` dataset when given."""
    viewer = student_id()
    models = catalog().offered(dataset, viewer)
    if not models:
        st.error("No models were found. The teacher can run `make checkpoints`, or train one on the Train page.")
        st.stop()
    names = [m.name for m in models]
    default = next((i for i, m in enumerate(models)
                    if m.card.arch == arch and prefer in (None, m.dataset)), 0)
    name = st.selectbox(label, names, index=default, key=key,
                        format_func=lambda n: models[names.index(n)].title(viewer) if n in names else n)
    return models[names.index(name)] if name in names else models[default]


@st.cache_data(max_entries=16, show_spinner="Evaluating on the 10,000 test images ...")
def test_answers(path: str, modified_ns: int, dataset: str) -> Evaluation:
    test = load_split(dataset, "test")
    return evaluate_split(_load(path, modified_ns), test.images, test.labels)


def evaluation_of(entry: ModelEntry) -> Evaluation:
    """The model's answers on the whole test split, computed once per model for every session."""
    load_model(entry)  # a model that cannot load says so and stops here
    try:
        return test_answers(str(entry.path), entry.path.stat().st_mtime_ns, entry.dataset)
    except MnistcoreError as exc:
        st.error(str(exc))
    except OSError:
        st.error(f"The model {entry.name} cannot be used. Its file cannot be read.")
    st.stop()


def show_prediction(prediction: Prediction, model_input: np.ndarray, caption: str) -> None:
    """The answer, its confidence, the ten bars, and the 28x28 image the model was given."""
    top, seen = st.columns([3, 1])
    with top:
        st.metric("Prediction", prediction.label, f"{prediction.confidence:.0%} confident",
                  delta_color="off", delta_arrow="off")
        if prediction.confidence < 0.5:
            st.caption("The model is unsure: no class gets half of the probability.")
    with seen:
        st.image(enlarge(model_input, 112), caption=caption)
    # Static: the bars carry their own labels, and it redraws after every stroke, so the
    # browser is spared plotly's hover and zoom layers (a class of laptops draws at once).
    st.plotly_chart(probability_bars(prediction.probabilities, prediction.classes),
                    config={"staticPlot": True})


def settings() -> Settings:
    try:
        return Settings.from_env()
    except MnistcoreError as exc:  # a teacher's typo in an MNISTCORE_* variable
        st.error(f"The server is not set up right: {exc}")
        st.stop()


@st.cache_resource
def job_manager() -> JobManager:
    """One per server, shared by every session: the queue is the whole class's. StorageError
    when the runs folder cannot be used; that is not cached, so the next page view tries again."""
    s = Settings.from_env()  # checked on every page by the entry script before this runs
    return JobManager(History(s.history_path), s.models_dir, JobLimits.from_settings(s))


def training_queue() -> JobManager | None:
    """The job manager, or None when the server cannot write its runs folder (or a setting is
    wrong, which ``settings`` reports)."""
    try:
        return job_manager()
    except MnistcoreError:
        return None


def catalog() -> Catalog:
    manager = training_queue()
    s = settings()
    return Catalog(s.saved_dir, manager.history if manager else None, s.saved_per_student)


def student_id() -> str:
    """Who is using this browser tab, kept in the URL (``?student=...``) so that a reload or a
    return to the page finds the same runs. Not a login: anyone with the link sees the runs."""
    token = st.session_state.get("student") or st.query_params.get("student", "")
    if not re.fullmatch(r"[0-9a-f]{16}", token):
        token = secrets.token_hex(8)
    st.session_state.student = token
    st.query_params["student"] = token
    return token


if PagesManager.uses_pages_directory:
    # Streamlit runs a folder called pages/ as an old-style multipage app until st.navigation has
    # run once in the process, so the first visitor after a start who comes straight to /train
    # would get the page without streamlit_app.py (and a sidebar of file names). Every page
    # imports this module: switch the old style off and run again, the new way. Last in the
    # module, so that a visitor importing it at the same moment finds every name defined.
    PagesManager.uses_pages_directory = False
    st.rerun()
