import pandas as pd
import streamlit as st

from mnistcore.data import DATASETS, SPLIT_NAMES, SPLIT_SIZES, SPLITS, get_spec
from mnistcore.display import enlarge, tile
from mnistcore.errors import MnistcoreError
from mnistcore.explore import class_samples
from mnistcore.glossary import GLOSSARY
from pages.server import handwriting
from pages.widgets import dataset_overview, page_header

PAGE = 40

page_header(
    "Dataset explorer",
    f"What the networks learn from: {sum(SPLIT_SIZES.values()):,} small gray pictures per dataset.",
    more="\n".join(
        f"- **{SPLIT_NAMES[s]}** ({SPLIT_SIZES[s]:,}): {GLOSSARY[SPLIT_NAMES[s] + ' images']}" for s in SPLITS
    ),
)

dataset = st.segmented_control(
    "Dataset",
    list(DATASETS),
    default="mnist",
    required=True,
    key="dataset_name",
    format_func=lambda name: DATASETS[name].title,
)
dataset = dataset if dataset in DATASETS else "mnist"  # a value the browser made up
spec = get_spec(dataset)
try:
    counts, means = dataset_overview(dataset)
except MnistcoreError as exc:
    st.error(str(exc))
    st.stop()

st.subheader("The average image of each class")
st.caption(
    "Every training image of a class laid on top of the others. The simple one-layer model "
    "learns little more than stencils like these."
)
for column, name, mean in zip(st.columns(10), spec.classes, means, strict=True):
    column.image(enlarge(mean, 84), caption=name)

st.subheader("Browse one class")
left, right = st.columns([1, 1])
# Keyed by dataset: a class picked on one dataset is not kept on the other (no "Bag" among digits).
label = left.selectbox(
    "Class", range(len(spec.classes)), format_func=lambda i: spec.classes[i], key=f"dataset_class-{dataset}"
)
label = label if label in range(len(spec.classes)) else 0
split = right.segmented_control(
    "Split", SPLITS, default="train", required=True, key="dataset_split", format_func=SPLIT_NAMES.get
)
split = split if split in SPLITS else "train"
page_key = f"dataset_page-{dataset}-{split}-{label}"
if st.button("Show other images", icon=":material/refresh:"):
    st.session_state[page_key] = st.session_state.get(page_key, 0) + 1
images, index = class_samples(dataset, split, label, PAGE, st.session_state.get(page_key, 0))
st.image(
    tile(images, columns=10, scale=3),
    caption=f"{spec.classes[label]}: {len(index)} of "
    f"{counts[split][label]:,} {split} images (indices {index.min()}-{index.max()})"
    if len(index)
    else None,
)

drawings = handwriting() if dataset == "mnist" else None
if drawings is not None:
    ours = drawings.drawings(label=label, limit=PAGE)
    st.markdown(f"**Our class's own {spec.classes[label]}s**, newest first: {drawings.counts()[label]} kept")
    if ours:
        st.image(tile([d.image for d in ours], columns=10, scale=3))
    else:
        st.caption('None yet. On the Draw page, tap "Right" or "No, it was a ..." under an answer to add yours.')

st.subheader("How many of each class")
table = pd.DataFrame({SPLIT_NAMES[s]: counts[s] for s in SPLITS}, index=list(spec.classes))
if drawings is not None:
    table["our class"] = drawings.counts()
table.loc["all"] = table.sum()
st.table(table)
st.caption(
    "The classes are close to balanced, so accuracy is a fair score here: a model cannot "
    "look good by always answering the commonest class."
)
