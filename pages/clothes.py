import streamlit as st

from mnistcore.data import get_spec
from mnistcore.errors import MnistcoreError
from mnistcore.glossary import HELP
from mnistcore.image_reader import MAX_BYTES, UPLOAD_TYPES, decode_image
from mnistcore.inference import classify, pick_test_image
from mnistcore.preprocess import BACKGROUNDS, prepare_input
from pages.widgets import load_model, page_header, pick_model, show_prediction

CLASSES = get_spec("fashion").classes
SOURCES = ["A test image", "Upload a picture"]

page_header(
    "Clothes: Fashion-MNIST",
    "Ten kinds of clothing in 28x28 gray pixels. Pick a test image the model never trained on, "
    "or upload a photo of one piece of clothing.",
    more="Fashion-MNIST was made from shop photos: the item on a plain light background, turned gray, "
    "light on black, and shrunk to fill 28x28. A photo of yours goes through the same steps. It works "
    "best with one item on a plain background; a patterned or dark background can turn the picture "
    "inside out (say which it is under **Background**).",
)

model_col, source_col = st.columns([3, 2])
with model_col:
    entry = pick_model("fashion", "Clothes model", key="clothes_model")
source = source_col.segmented_control("Image", SOURCES, default=SOURCES[0], required=True, key="clothes_source")
left, right = st.columns([2, 3], gap="large")
x, truth = None, None
with left:
    if source == "Upload a picture":
        upload = st.file_uploader(
            "A photo of one piece of clothing", type=list(UPLOAD_TYPES), max_upload_size=MAX_BYTES // (1024 * 1024)
        )
        background = st.radio(
            "Background", list(BACKGROUNDS), format_func=BACKGROUNDS.get, horizontal=True, help=HELP["background"]
        )
        background = background if background in BACKGROUNDS else "auto"  # a value the browser made up
        if upload is not None:
            try:
                picture = decode_image(upload.getvalue())
                x = prepare_input(picture, "fashion", background=background)
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
        else:
            st.caption("What the model sees should look like a light item on black; if not, try another Background.")
        show_prediction(prediction, x[0, 0].numpy(), "What the model sees (28x28)")
