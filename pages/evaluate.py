import streamlit as st

from mnistcore.cards import ModelCard
from mnistcore.charts import clicked_cell, confusion_matrix, per_class_accuracy, probability_bars
from mnistcore.data import get_spec, load_split
from mnistcore.display import enlarge
from mnistcore.evaluation import evaluate
from mnistcore.glossary import GLOSSARY
from mnistcore.report import run_report
from pages.server import catalog, handwriting, student_id
from pages.widgets import evaluation_at, evaluation_of, load_model, page_header, pick_model

GALLERY = 24  # images shown for a chosen cell
GALLERY_COLUMNS = 4
TESTS = {"test": "The 10,000 test images", "class": "Our class's handwriting"}


@st.cache_data(max_entries=4, show_spinner=False)
def report(name: str, path: str, modified_ns: int, _card: ModelCard) -> str:
    # Cached, and the same bytes each time: Streamlit keeps one copy of a download however many
    # students ask for it, instead of one per click until the next rerun.
    test = load_split(_card.dataset, "test")
    return run_report(name, _card, evaluation_at(path, modified_ns, _card.dataset), test.images.numpy())


page_header(
    "Evaluate a model",
    "Every answer of a model on the 10,000 test images it never trained on: where it is right, "
    "where it goes wrong, and which mistakes it was surest of.",
)
with st.columns([3, 2])[0]:
    entry = pick_model(None, "Model", key="evaluate_model")
    tested_on = "test"
    if entry.dataset == "mnist" and handwriting() is not None:
        tested_on = st.segmented_control("Test it on", list(TESTS), format_func=TESTS.get, default="test",
                                         required=True, key="evaluate_on")  # fmt: skip


def on_class_handwriting() -> None:
    """Every digit model on the drawings the class kept on the Draw page, then the picked one's
    confusion matrix and mistakes there."""
    images, labels = handwriting().as_tensors()
    if not len(labels):
        st.info('The class has kept no drawings yet. On the Draw page, tap "Right" or "No, it was a ..." '
                "under an answer to add yours.", icon=":material/draw:")  # fmt: skip
        return
    st.caption(
        f"{len(labels)} drawing{'s' if len(labels) != 1 else ''} by the class. With so few, one drawing more or "
        f"less moves the score by {1 / len(labels):.1%}: compare the models, not the last digit."
    )
    viewer = student_id()
    models = catalog().shipped("mnist") + catalog().saved("mnist", owner=viewer)
    results = {m.name: evaluate(load_model(m), images, labels) for m in models}
    st.table(
        [
            {
                "model": m.title(viewer),
                "right on MNIST's test images": f"{evaluation_of(m).accuracy:.1%}",
                "right on our handwriting": f"{results[m.name].accuracy:.1%}",
            }
            for m in models
        ],
        hide_index=True,
    )
    ours = results.get(entry.name) or evaluate(load_model(entry), images, labels)
    st.markdown(
        f"**{entry.label}** reads {evaluation_of(entry).accuracy:.1%} of MNIST's test digits and "
        f"{ours.accuracy:.1%} of ours ({ours.wrong} of {len(labels)} wrong)."
    )
    matrix, wrong = st.columns([3, 2], gap="medium")
    classes = get_spec("mnist").classes
    matrix.plotly_chart(confusion_matrix(ours.confusion(), classes), config={"displayModeBar": False})
    with wrong:
        st.markdown("**The drawings it got wrong**, surest first" if ours.wrong else "**It got every drawing right.**")
        columns = st.columns(GALLERY_COLUMNS)
        for n, i in enumerate(ours.confident_mistakes(GALLERY)):
            columns[n % GALLERY_COLUMNS].image(
                enlarge(images[i].numpy() / 255.0, 56),
                caption=f"a {classes[ours.labels[i]]}, read {classes[ours.predictions[i]]}",
            )


if tested_on == "class":
    on_class_handwriting()
    st.stop()

spec = get_spec(entry.dataset)
evaluation = evaluation_of(entry)
test_images = load_split(entry.dataset, "test").images.numpy()

a, b, c = st.columns(3)
a.metric("Right on the test images", f"{evaluation.accuracy:.2%}")
b.metric("Test loss", f"{evaluation.loss:.3f}", help=GLOSSARY["loss (cross-entropy)"])
c.metric(f"Wrong, of {len(evaluation.labels):,}", f"{evaluation.wrong:,}")

st.subheader("Confusion matrix")
st.caption("Rows are the true classes, columns what the model answered; the diagonal is right. Click a cell.")
classes = spec.classes
if not {st.session_state.get("evaluate_true"), st.session_state.get("evaluate_said")} <= set(classes):
    first = evaluation.most_confused()  # a new model or dataset: start on its commonest mistake
    st.session_state["evaluate_true"], st.session_state["evaluate_said"] = (classes[i] for i in first)
true = classes.index(st.session_state["evaluate_true"])
predicted = classes.index(st.session_state["evaluate_said"])


def forget_click() -> None:
    # Picked in the boxes: a click on the cell clicked before must count again.
    st.session_state.pop("evaluate_click", None)


matrix_col, gallery_col = st.columns([3, 2], gap="medium")
with matrix_col:
    event = st.plotly_chart(
        confusion_matrix(evaluation.confusion(), classes, selected=(true, predicted)),
        on_select="rerun",
        selection_mode="points",
        key=f"confusion-{entry.name}",
        config={"displayModeBar": False},
    )
clicked = clicked_cell(event.selection.points, len(classes))
# The chart keeps its selection across reruns: act on a click once, so the boxes below still work.
if clicked is not None and clicked != st.session_state.get("evaluate_click"):
    st.session_state["evaluate_click"] = clicked
    st.session_state["evaluate_true"], st.session_state["evaluate_said"] = (classes[i] for i in clicked)
    st.rerun()

with gallery_col:
    pick_true, pick_said = st.columns(2)
    true_name = pick_true.selectbox("True class", classes, key="evaluate_true", on_change=forget_click)
    said_name = pick_said.selectbox("The model answered", classes, key="evaluate_said", on_change=forget_click)
    index = evaluation.cell(true, predicted)
    verdict = "right" if true == predicted else "wrong"
    st.markdown(
        f"**{len(index):,} test images of _{true_name}_ the model called _{said_name}_** ({verdict}), "
        f"most confident first{'; the first ' + str(GALLERY) + ' are shown' if len(index) > GALLERY else ''}."
    )
    if len(index):
        columns = st.columns(GALLERY_COLUMNS)
        for n, i in enumerate(index[:GALLERY]):
            columns[n % GALLERY_COLUMNS].image(
                enlarge(test_images[i] / 255.0, 56), caption=f"#{i}: {evaluation.confidences[i]:.0%}"
            )

st.subheader("Accuracy per class")
st.plotly_chart(per_class_accuracy(evaluation.per_class_accuracy(), spec.classes), config={"displayModeBar": False})

st.subheader("The mistakes it was surest of")
st.caption("Wrong, yet confident: often an odd or mislabelled image, sometimes a real blind spot.")
mistakes = evaluation.confident_mistakes(8)
for row in range(0, len(mistakes), 2):
    for column, i in zip(st.columns(2, gap="large"), mistakes[row : row + 2], strict=False):
        picture, bars = column.columns([1, 2], vertical_alignment="center")
        picture.image(
            enlarge(test_images[i] / 255.0, 112), width=112, caption=f"#{i}: was {spec.classes[evaluation.labels[i]]}"
        )
        bars.plotly_chart(
            probability_bars(evaluation.probabilities[i], spec.classes, height=240, horizontal=True),
            config={"displayModeBar": False},
            key=f"mistake-{entry.name}-{i}",
        )

st.subheader("Run report")
st.caption("One HTML page with the settings, curves, confusion matrix and mistakes, to hand in.")
st.download_button(
    "Download the report",
    icon=":material/download:",
    on_click="ignore",
    data=lambda: report(entry.name, str(entry.path), entry.path.stat().st_mtime_ns, entry.card),
    file_name=f"report-{entry.name}.html",
    mime="text/html",
)
