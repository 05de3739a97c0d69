import streamlit as st

from mnistcore.charts import model_comparison
from mnistcore.data import get_spec
from mnistcore.display import enlarge, on_square
from mnistcore.errors import MnistcoreError, PreprocessError
from mnistcore.glossary import HELP
from mnistcore.handwriting import ink_png
from mnistcore.image_reader import read_canvas
from mnistcore.inference import classify
from mnistcore.preprocess import drawing_steps
from pages.drawing_pad import drawing_pad
from pages.server import catalog, handwriting, student_id
from pages.widgets import load_model, page_header, pick_model, show_prediction

CANVAS = 280  # px: the drawing pad's own size; on a narrow screen it is shown smaller
BRUSH = 20  # px: the pen's width to begin with
STEP_WIDTH = 140  # px: each preprocessing step shown at this one width

page_header(
    "Draw a digit",
    "Draw one digit, 0 to 9, in the black square. The network answers after every stroke.",
    more='The network must answer one of its ten digits: it has no way to say "this is not a digit". '
    "Draw a smiley or a letter and it still names a digit, sometimes very sure of it. When it is unsure, "
    "the page says so.\n\n"
    "Before the network sees your drawing, it goes through MNIST's own recipe: cut out the ink, shrink it "
    "to fit 20x20 pixels, and put its middle in the middle of 28x28. Switch that off under "
    "**More to try** to see what it is for.",
)


def was_it_right(answer: int, model_input, image) -> None:
    """One tap tells the class's handwriting what this drawing is: "right", or the digit it
    really was. The drawing is kept once; the student can take it back."""
    drawings = handwriting()
    if drawings is None:
        return
    drawing = hash(model_input.tobytes())
    kept = st.session_state.get("kept")  # (drawing, id, digit) of the last drawing kept from this tab
    if kept is not None and kept[0] == drawing:
        note, undo = st.columns([3, 1], vertical_alignment="center")
        note.success(f"Kept in the class's handwriting as a {kept[2]}. Thank you!", icon=":material/favorite:")
        if undo.button("Take it back", key="unkeep"):
            try:
                drawings.delete(kept[1], owner=student_id())
            except MnistcoreError as exc:
                st.error(str(exc))
                return
            del st.session_state["kept"]
            st.rerun(scope="fragment")
        return
    tapped = answer if st.button("Right", icon=":material/check:", help=HELP["keep"]) else None
    st.markdown("No, it was a")
    # Ten buttons in a row that wraps: a row of pills does not, and hid 7, 8 and 9 on a tablet.
    with st.container(horizontal=True, gap="small"):
        for digit in range(10):
            if st.button(str(digit), key=f"it_was_{digit}"):
                tapped = digit
    if tapped is not None:
        try:
            kept_id = drawings.add(student_id(), int(tapped), model_input, ink_png(image))
        except (ValueError, MnistcoreError) as exc:
            st.error(str(exc))
            return
        st.session_state.kept = (drawing, kept_id, int(tapped))
        st.rerun(scope="fragment")


@st.fragment
def drawing_area() -> None:
    # A fragment: a stroke reruns just the pad and its answer, not the page around them, which
    # keeps each prediction cheap for the server and the browser when a whole class draws at once.
    # The pad sits at the top left, so it is wholly on the first screen of a projector too.
    left, right = st.columns(2, gap="medium")
    with left:
        # The slider comes after the pad; a moved slider is already in session_state when this reruns.
        drawing_pad(CANVAS, st.session_state.get("brush", BRUSH), key="canvas")
        st.slider("Brush width", 8, 40, BRUSH, key="brush", help=HELP["brush"])
    with right:
        entry = pick_model("mnist", "Digit model", key="draw_model")
        with st.expander("More to try"):
            show_steps = st.toggle("Show each preprocessing step", value=False, help=HELP["steps"])
            centre = st.toggle("Centre the drawing (MNIST's recipe)", value=True, help=HELP["centre"])
            compare = st.toggle("Compare all digit models", value=False, help=HELP["compare"])
    try:
        image = read_canvas(st.session_state.get("canvas"))  # as the browser sent it: checked like an upload
        steps, problem = (drawing_steps(image, light_ink=True, centre=centre) if image is not None else None), None
    except PreprocessError as exc:
        steps, problem = None, str(exc)
    with right:
        if steps is None:
            st.session_state.pop("drawing", None)
            if problem:
                st.warning(problem, icon=":material/draw:")
            else:
                st.info("Draw a digit to see what the network thinks it is.", icon=":material/draw:")
        else:
            st.session_state["drawing"] = steps.as_input()  # the Inside page reads it from here
            prediction = classify(load_model(entry), steps.as_input(), "mnist")
            show_prediction(
                prediction,
                steps.model_input,
                "What the model sees (28x28)",
                under_answer=lambda: was_it_right(prediction.index, steps.model_input, image),
            )
            st.caption("It must pick one of the ten digits, even for a drawing that is no digit at all.")

    if steps is not None and show_steps:
        st.subheader("From your drawing to the model's input")
        shown = steps.shown()
        for column, (name, picture) in zip(st.columns(len(shown)), shown, strict=True):
            column.image(enlarge(on_square(picture), STEP_WIDTH), caption=name, width=STEP_WIDTH, clamp=True)

    if steps is not None and compare:
        st.subheader("Every digit model on your drawing")
        classes = get_spec("mnist").classes
        models = catalog().shipped("mnist") + catalog().saved("mnist", owner=student_id())
        rows = [(m.label, classify(load_model(m), steps.as_input(), "mnist").probabilities) for m in models]
        for column, (name, probabilities) in zip(st.columns(len(rows)), rows, strict=True):
            column.metric(
                name,
                classes[probabilities.argmax()],
                f"{probabilities.max():.0%}",
                delta_color="off",
                delta_arrow="off",
            )
        st.plotly_chart(model_comparison(rows, classes), config={"displayModeBar": False})
        st.caption(
            'With the recipe on, all three read a clear digit. Switch off "Centre the drawing" and draw a '
            "smaller digit off to one side: on 400 such digits the convolutional network still read 61%, "
            "the layered network 32%, the one-layer model 9%. That is what the recipe is for, and why real "
            "handwriting readers use convolutional networks."
        )


drawing_area()
