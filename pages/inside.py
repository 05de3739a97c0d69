import streamlit as st

from mnistcore.charts import confidence_histogram, probability_lines, probability_spread
from mnistcore.data import get_spec, other_dataset
from mnistcore.display import diverging, enlarge, heat_overlay, tile
from mnistcore.errors import MnistcoreError
from mnistcore.glossary import HELP
from mnistcore.inference import classify, pick_test_image
from mnistcore.inside import (
    SURE,
    conv_filters,
    feature_maps,
    first_layer_weights,
    mc_dropout,
    saliency,
    share_sure,
    wins,
)
from mnistcore.snapshots import load_snapshots, replay
from pages.widgets import confidences_of, load_model, page_header, pick_model, show_prediction

page_header(
    "Inside the network",
    "What a model has learned to look for, which pixels its answer rests on, and how sure it really is.",
)
with st.columns([3, 2])[0]:
    entry = pick_model(None, "Model", key="inside_model", arch="mlp", prefer="mnist")
model = load_model(entry)
spec = get_spec(entry.dataset)
other = get_spec(other_dataset(entry.dataset))

sources = ["A test image", f"A {other.title} image (not what it learned)"]
drawing = st.session_state.get("drawing")  # the model input of the Draw page's drawing
if drawing is not None and entry.dataset == "mnist":
    sources.insert(0, "Your drawing")
source = st.segmented_control("Input", sources, default=sources[0], required=True, key="inside_source")
if entry.dataset == "mnist" and drawing is None:
    st.caption("Draw a digit on the Draw page and it appears here as an input too.")

st.session_state.setdefault("inside_pick", 0)
if source == "Your drawing":
    x, truth = drawing, None
else:
    shown = spec if source == "A test image" else other
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    label = left.selectbox(
        "Class",
        [None, *range(10)],
        key=f"inside_class-{shown.name}",
        format_func=lambda i: "any" if i is None else shown.classes[i],
    )
    label = label if label in range(10) else None  # "any", or a value the browser made up
    if right.button("Another image", icon=":material/refresh:"):
        st.session_state.inside_pick += 1
    try:
        x, truth_index = pick_test_image(shown.name, label, st.session_state.inside_pick)
    except MnistcoreError as exc:
        st.error(str(exc))
        st.stop()
    truth = shown.classes[truth_index]

prediction = classify(model, x, entry.dataset)
image = x[0, 0].numpy()
show_prediction(prediction, image, f"The input{f' (truly: {truth})' if truth else ''}")

st.subheader("Which pixels the answer rests on")
heat = saliency(model, x)
a, b, c = st.columns([1, 1, 2])
a.image(enlarge(image, 196), caption="The input")
b.image(enlarge(heat_overlay(image, heat), 196), caption=f"Saliency for '{prediction.label}'")
c.markdown(
    "The brighter a pixel, the more a small change to it would change the score of "
    f"**{prediction.label}**: the gradient of that score with respect to each input pixel. "
    "A model that reads a digit's strokes lights up along them; one that learned a "
    "shortcut lights up somewhere else."
)

arch = entry.card.arch
if arch == "logreg":
    st.subheader("The ten templates")
    st.caption(
        "Logistic regression has one weight per pixel and class: red pixels speak for the "
        "class, blue against. Its answer is the template that best matches the input."
    )
    for column, name, w in zip(st.columns(10), spec.classes, first_layer_weights(model), strict=True):
        column.image(enlarge(diverging(w), 84), caption=name)
elif arch == "mlp":
    weights = first_layer_weights(model)
    st.subheader("What the first hidden units look for")
    st.caption(
        f"Each of the MLP's {len(weights)} first-layer units weighs all 784 pixels: red "
        "adds to the unit, blue subtracts. The first 64, each scaled on its own:"
    )
    st.image(tile([diverging(w) for w in weights[:64]], columns=16, scale=2))
else:
    st.subheader("The CNN's filters and what they find in this input")
    st.caption(
        "Each 5x5 filter slides over the whole image (red weights add, blue subtract); its "
        "feature map is bright where its pattern appears. The second layer combines them."
    )
    first, second = feature_maps(model, x)
    st.image(
        tile([diverging(f) for f in conv_filters(model)], columns=16, scale=8),
        caption="The 16 filters of the first layer",
    )
    st.image(tile(first, columns=16, scale=4), caption="Their 16 feature maps for this input (14x14)")
    st.image(tile(second, columns=16, scale=5), caption="The second layer's 32 feature maps (7x7)")

st.subheader("How sure is it? Monte-Carlo dropout")
if entry.card.dropout:
    passes = st.slider("Passes", 10, 200, 50, step=10, key="inside_passes", help=HELP["passes"])
    passes = int(min(max(passes, 10), 200))  # the browser's value is not checked against the slider's range
    samples = mc_dropout(model, x, passes)
    st.plotly_chart(probability_spread(samples, spec.classes), config={"displayModeBar": False})
    st.caption(
        f"Dropout left on at inference: each of the {passes} passes switches off a different "
        f"{entry.card.dropout:.0%} of the hidden units. **{prediction.label}** wins "
        f"{wins(samples)[prediction.index]} of {passes} passes. A tight cluster means the answer does "
        "not hang on a few units; a wide spread means the model is unsure, whatever the "
        "single answer above says."
    )
else:
    st.info(
        "This model was trained without dropout, so there is nothing to switch off at random. "
        "Pick a model trained with dropout (the shipped MLPs and CNNs are).",
        icon=":material/info:",
    )

st.subheader("Confident about things it has never seen")
own, foreign = confidences_of(entry, spec.name), confidences_of(entry, other.name)
st.plotly_chart(
    confidence_histogram(
        [(f"{spec.title} test images (what it learned)", own), (f"{other.title} images (never seen)", foreign)]
    ),
    config={"displayModeBar": False},
)
st.caption(
    f"A classifier must pick one of its ten classes, whatever it is shown. On {other.title} "
    f"images this model is still over {SURE:.0%} sure in {share_sure(foreign):.0%} of cases "
    f"(on its own test images: {share_sure(own):.0%}). High confidence is not the same as "
    'being right: the model has no way to say "this is not a digit".'
)

st.subheader("Epoch replay")
try:
    snapshots = load_snapshots(entry.path, entry.card)
except MnistcoreError as exc:
    snapshots = {}
    st.warning(str(exc))
if snapshots:
    epochs, probabilities = replay(entry.card, snapshots, x)
    st.plotly_chart(probability_lines(epochs, probabilities, spec.classes), config={"displayModeBar": False})
    st.caption(
        "The same input through the model as it was after each epoch of its training: "
        "watch the answer form, and, in a run that overfits, its confidence harden."
    )
else:
    st.info(
        "Runs of logistic regression or the MLP trained on the Train page keep a snapshot of "
        "every epoch; save one, pick it here, and this shows how its answer for this input "
        "changed from epoch to epoch.",
        icon=":material/history:",
    )
