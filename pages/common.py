"""Widgets the pages share: the model picker, cached model loading, and how a prediction is
shown. Layout only; the work is in mnistcore."""

from __future__ import annotations

import re
import secrets

import numpy as np
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from mnistcore.catalog import ModelEntry, list_models, runs_dir
from mnistcore.charts import probability_bars
from mnistcore.pictures import enlarge
from mnistcore.checkpoints import load_checkpoint
from mnistcore.data import load_split
from mnistcore.errors import MnistcoreError
from mnistcore.evaluation import Evaluation, evaluate_split
from mnistcore.history import History
from mnistcore.inference import Prediction
from mnistcore.jobs import JobManager

@st.cache_resource(max_entries=32, show_spinner="Loading the model ...")
def _load(path: str, modified: float):
    # Keyed by modification time too, so a re-saved run is loaded afresh.
    return load_checkpoint(path)[0]


def load_model(entry: ModelEntry):
    try:
        return _load(str(entry.path), entry.path.stat().st_mtime)
    except (MnistcoreError, OSError) as exc:
        st.error(f"This model cannot be used: {exc}")
        st.stop()


def pick_model(dataset: str | None, label: str, key: str, arch: str = "cnn",
               prefer: str | None = None) -> ModelEntry:
    """A model of ``dataset`` (any when None); to begin with, the first ``arch`` one, of the
    ``prefer`` dataset when given."""
    models = list_models(dataset)
    if not models:
        st.error("No models were found in `checkpoints/` or `runs/saved/`. "
                 "Run `make checkpoints` or train one on the Train page.")
        st.stop()
    names = [m.name for m in models]
    default = next((i for i, m in enumerate(models)
                    if m.card["arch"] == arch and prefer in (None, m.dataset)), 0)
    name = st.selectbox(label, names, index=default, key=key,
                        format_func=lambda n: models[names.index(n)].title)
    return models[names.index(name)]


@st.cache_data(max_entries=16, show_spinner="Evaluating on the 10,000 test images ...")
def _evaluation(path: str, modified: float, dataset: str) -> Evaluation:
    test = load_split(dataset, "test")
    return evaluate_split(_load(path, modified), test.images, test.labels)


def evaluation_of(entry: ModelEntry) -> Evaluation:
    """The model's answers on the whole test split, computed once per model for every session."""
    load_model(entry)  # a model that cannot load says so and stops here
    try:
        return _evaluation(str(entry.path), entry.path.stat().st_mtime, entry.dataset)
    except (MnistcoreError, OSError) as exc:
        st.error(str(exc))
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


@st.cache_resource
def job_manager() -> JobManager:
    """One per server, shared by every session: the queue is the whole class's."""
    return JobManager(History(runs_dir() / "history.sqlite"), runs_dir() / "models")


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
