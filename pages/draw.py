from contextlib import suppress

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mnistcore.charts import model_comparison
from mnistcore.data import get_spec
from mnistcore.display import enlarge
from mnistcore.errors import PreprocessError
from mnistcore.image_reader import read_canvas
from mnistcore.inference import classify
from mnistcore.preprocess import drawing_steps
from pages.server import catalog, student_id
from pages.widgets import load_model, pick_model, show_prediction

st.title("Draw a digit")
st.caption("Draw one digit, 0 to 9, in the black square. The network answers after every stroke.")

with st.sidebar:
    entry = pick_model("mnist", "Digit model", key="draw_model")
    brush = st.slider("Brush width", 8, 40, 20, help="About 20 px matches MNIST's pen on this canvas.")
    show_steps = st.toggle("Show each preprocessing step", value=False)
    compare = st.toggle(
        "Compare all digit models",
        value=False,
        help="The same drawing through logistic regression, the MLP and the CNN.",
    )

st.session_state.setdefault("cleared", 0)


def clear_canvas() -> None:
    # A new initial drawing empties the canvas in place; a new key would mount a fresh canvas,
    # which drops a stroke begun before it is ready. Until the canvas sends its empty drawing
    # back, the value it holds is the old one, which must not be shown.
    st.session_state.cleared += 1
    st.session_state.canvas_stale = True


def canvas_sent() -> None:
    st.session_state.canvas_stale = False


@st.fragment
def drawing_area(entry, brush: int, show_steps: bool, compare: bool) -> None:
    # A fragment: a stroke reruns just the canvas and its answer, not the page around them, which
    # keeps each prediction cheap for the server and the browser when a whole class draws at once.
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.space("small")  # room for the canvas's own toolbar (undo, redo, clear) above it
        # A forged value can make the component's own unpacking raise; read_canvas below says so.
        with suppress(AttributeError, KeyError, TypeError):
            st_canvas(
                stroke_width=brush,
                stroke_color="#FFFFFF",
                background_color="#000000",
                width=280,
                height=280,
                drawing_mode="freedraw",
                return_image_data=True,
                initial_drawing={"objects": [], "cleared": st.session_state.cleared},
                key="canvas",
                on_change=canvas_sent,
            )
        st.button("Clear the canvas", icon=":material/ink_eraser:", on_click=clear_canvas)

    # The canvas's state as the browser sent it: read_canvas checks it like an upload.
    state = None if st.session_state.get("canvas_stale") else st.session_state.get("canvas")
    try:
        image = read_canvas(state)
        steps, problem = (drawing_steps(image, light_ink=True) if image is not None else None), None
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
            show_prediction(prediction, steps.centred, "What the model sees (28x28)")

    if steps is not None and show_steps:
        st.subheader("From your drawing to the model's input")
        names = ["Your ink", "Cropped to the ink", "Scaled into 20x20", "Centred by mass in 28x28"]
        for column, name, picture in zip(
            st.columns(4), names, [steps.ink, steps.cropped, steps.boxed, steps.centred], strict=True
        ):
            column.image(enlarge(picture, 140) if max(picture.shape) < 140 else picture, caption=name, clamp=True)

    if steps is not None and compare:
        st.subheader("Every digit model on your drawing")
        classes = get_spec("mnist").classes
        models = catalog().shipped("mnist") + catalog().saved("mnist", owner=student_id())
        rows = [(m.name, classify(load_model(m), steps.as_input(), "mnist").probabilities) for m in models]
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
            "The CNN looks at small patches wherever they are, so it copes best with digits "
            "drawn off-centre, tilted or in an unusual style: that is why it is used in practice."
        )


drawing_area(entry, brush, show_steps, compare)
