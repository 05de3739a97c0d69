"""Widgets the pages share: the model picker, models and what they compute on a whole test split
(loaded once for every session, keyed by the model file's version), and how a prediction is
shown. Layout only; the work is in mnistcore."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
from torch import nn

from mnistcore.catalog import ModelEntry
from mnistcore.charts import probability_bars
from mnistcore.checkpoints import load_checkpoint
from mnistcore.classroom import MAX_NAME
from mnistcore.data import load_split
from mnistcore.display import enlarge, plain
from mnistcore.errors import MnistcoreError
from mnistcore.evaluation import Evaluation, evaluate
from mnistcore.explore import class_counts, mean_images
from mnistcore.glossary import GLOSSARY
from mnistcore.inference import Prediction
from mnistcore.inside import top_confidences
from pages.server import catalog, classroom, offered_models, student_id


@st.cache_resource(max_entries=32, show_spinner="Loading the model ...")
def model_at(path: str, modified_ns: int) -> nn.Module:
    # Keyed by modification time too, so a re-saved model is loaded afresh.
    return load_checkpoint(path)[0]


@st.cache_data(max_entries=16, show_spinner="Evaluating on the 10,000 test images ...")
def evaluation_at(path: str, modified_ns: int, dataset: str) -> Evaluation:
    test = load_split(dataset, "test")
    return evaluate(model_at(path, modified_ns), test.images, test.labels)


@st.cache_data(max_entries=32, show_spinner=False)
def confidences_at(path: str, modified_ns: int, dataset: str) -> np.ndarray:
    return top_confidences(model_at(path, modified_ns), dataset)


@st.cache_data(show_spinner="Reading the dataset ...")
def dataset_overview(dataset: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Its class counts per split and each class's mean training image."""
    return class_counts(dataset), mean_images(dataset)


def _computed(entry: ModelEntry, compute, *args):
    """``compute(path, version, *args)`` for the entry's file, or a message and the page stops."""
    try:
        return compute(str(entry.path), entry.path.stat().st_mtime_ns, *args)
    except MnistcoreError as exc:
        reason = str(exc)
    except OSError:  # its text names a server path
        reason = "Its file cannot be read."
    st.error(f"The model {entry.name} cannot be used. {reason}")
    st.stop()


def load_model(entry: ModelEntry) -> nn.Module:
    return _computed(entry, model_at)


def evaluation_of(entry: ModelEntry) -> Evaluation:
    """The model's answers on its whole test split, computed once per model for every session."""
    return _computed(entry, evaluation_at, entry.dataset)


def confidences_of(entry: ModelEntry, dataset: str) -> np.ndarray:
    """The model's confidence on the first test images of ``dataset``, once per model for every session."""
    return _computed(entry, confidences_at, dataset)


def pick_model(dataset: str | None, label: str, key: str, arch: str = "cnn", prefer: str | None = None) -> ModelEntry:
    """A model of ``dataset`` (any when None); to begin with, the first ``arch`` one, of the
    ``prefer`` dataset when given."""
    viewer = student_id()
    models = offered_models(catalog(), dataset, viewer)
    if not models:
        st.error("No models were found. The teacher can run `make checkpoints`, or train one on the Train page.")
        st.stop()
    names = [m.name for m in models]
    default = next((i for i, m in enumerate(models) if m.card.arch == arch and prefer in (None, m.dataset)), 0)
    name = st.selectbox(
        label,
        names,
        index=default,
        key=key,
        format_func=lambda n: models[names.index(n)].title(viewer) if n in names else n,
    )
    return models[names.index(name)] if name in names else models[default]  # a made-up name: the default


def page_header(title: str, intro: str, more: str | None = None) -> None:
    """The page's title, a sentence or two, the rest behind "More about this page", and the
    Words button that explains the lesson's words on every page. The two buttons sit beside
    the title, so the page's own content starts high on a projector's short screen."""
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.title(title)
    with right.container(horizontal=True, horizontal_alignment="right"):
        if more:
            with st.popover("About this page", icon=":material/info:"):
                st.markdown(more)
        with st.popover("Words", icon=":material/menu_book:", help="What the words on these pages mean"):
            st.markdown("\n".join(f"- **{term}**: {meaning}" for term, meaning in GLOSSARY.items()))
        name_box()
    st.caption(intro)


def name_box() -> None:
    """The student's name for the class, typed once: the button asks for it until it is given,
    then shows it. The name follows the student's code, so a reload or a second tab finds it."""
    room = classroom()
    if room is None:
        return
    code = student_id()
    try:
        name = room.name_of(code)
    except MnistcoreError:  # the history cannot be read: the page goes on without the name
        return
    label = plain(name) if name else "Your name?"
    box = st.popover(label, icon=":material/badge:", type="secondary" if name else "primary",
                     help="The name your teacher sees beside your runs")  # fmt: skip
    with box, st.form("name_form", border=False):
        typed = st.text_input("Your name for the class", value=name or "", max_chars=MAX_NAME,
                              placeholder="First name or a nickname")  # fmt: skip
        if st.form_submit_button("Save my name", type="primary"):
            try:
                room.set_name(code, typed)
                st.rerun()
            except (ValueError, MnistcoreError) as exc:  # a name refused, or a disk that refuses the write
                st.error(str(exc))


def show_prediction(
    prediction: Prediction, model_input: np.ndarray, caption: str, under_answer: Callable[[], None] | None = None
) -> None:
    """The answer, its confidence, the ten bars, and the 28x28 image the model was given;
    ``under_answer`` draws what goes right under the answer, beside that image."""
    top, seen = st.columns([3, 1])
    with top:
        st.metric(
            "Prediction",
            prediction.label,
            f"{prediction.confidence:.0%} sure",
            delta_color="off",
            delta_arrow="off",
        )
        if prediction.unsure:
            st.warning(
                f"The model is unsure: its answer gets only {prediction.confidence:.0%} of the probability.",
                icon=":material/help:",
            )
        if under_answer is not None:
            under_answer()
    with seen:
        st.image(enlarge(model_input, 112), caption=caption)
    # Static: the bars carry their own labels, and it redraws after every stroke, so the
    # browser is spared plotly's hover and zoom layers (a class of laptops draws at once).
    st.plotly_chart(probability_bars(prediction.probabilities, prediction.classes), config={"staticPlot": True})
