import streamlit as st

from mnistcore.data import get_spec
from mnistcore.errors import MnistcoreError
from mnistcore.image_reader import MAX_BYTES, UPLOAD_TYPES, decode_image
from mnistcore.inference import classify, pick_test_image
from mnistcore.preprocess import prepare_input
from pages.widgets import load_model, pick_model, show_prediction

CLASSES = get_spec("fashion").classes

st.title("Clothes: Fashion-MNIST")
st.caption(
    "Ten kinds of clothing in 28x28 gray pixels. Pick a test image the model never "
    "trained on, or upload a picture of one piece of clothing."
)

with st.sidebar:
    entry = pick_model("fashion", "Clothes model", key="clothes_model")

source = st.segmented_control(
    "Image", ["A test image", "Upload a picture"], default="A test image", key="clothes_source"
)
left, right = st.columns([2, 3], gap="large")
x, truth = None, None
with left:
    if source == "Upload a picture":
        upload = st.file_uploader(
            "A PNG or JPEG of one piece of clothing",
            type=list(UPLOAD_TYPES),
            max_upload_size=MAX_BYTES // (1024 * 1024),
        )
        if upload is not None:
            try:
                picture = decode_image(upload.getvalue())
                x = prepare_input(picture, "fashion")
            except MnistcoreError as exc:
                st.error(str(exc), icon=":material/broken_image:")
            else:
                st.image(picture, width=200)  # no caption: a file's name is anything a student typed
                if x is None:
                    st.warning("This picture is one flat colour: there is no clothing to classify.")
    else:
        st.session_state.setdefault("clothes_pick", 0)
        wanted = st.selectbox("Class", ["Any class", *CLASSES], key="clothes_class")
        if st.button("Another image", icon=":material/shuffle:"):
            st.session_state.clothes_pick += 1
        label = CLASSES.index(wanted) if wanted in CLASSES else None
        try:
            x, truth = pick_test_image("fashion", label, st.session_state.clothes_pick)
        except MnistcoreError as exc:
            st.error(str(exc))

with right:
    if x is None:
        st.info("Pick a test image or upload a picture to see the model's answer.", icon=":material/checkroom:")
    else:
        prediction = classify(load_model(entry), x, "fashion")
        if truth is not None:
            verdict = "right" if prediction.index == truth else "wrong"
            st.write(f"The true class is **{CLASSES[truth]}**: the model is **{verdict}**.")
        show_prediction(prediction, x[0, 0].numpy(), "What the model sees (28x28)")
