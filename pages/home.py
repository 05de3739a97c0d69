import streamlit as st

from mnistcore.models import ARCH_SUMMARIES, ARCH_TITLES, build_model, count_parameters
from pages.server import settings
from pages.widgets import page_header

page_header(
    "How small neural networks read handwriting",
    "A classroom lab for MNIST digits and Fashion-MNIST clothes: 28x28 gray images, ten classes "
    "each, and three small networks that learn to tell them apart.",
)
st.markdown(
    "- **Draw a digit**: draw on the canvas and watch the ten probabilities change after every "
    "stroke. See the 28x28 image the network is really given, and compare logistic regression, "
    "the MLP and the CNN on your own drawing.\n"
    "- **Clothes**: the same for Fashion-MNIST test images, or a picture you upload.\n"
    "- **Train**: train an MLP with and without dropout on the very same batches and watch the "
    "curves grow. Without dropout the validation loss turns up while the training loss keeps "
    "falling: the network is memorising. Early stopping keeps the best epoch.\n"
    "- **Evaluate a model**: its confusion matrix on the 10,000 test images (click a cell to see "
    "those images), accuracy per class, the mistakes it was surest of, and a report to hand in.\n"
    "- **Inside the network**: what the first layer looks for, which pixels an answer rests on, "
    "how sure the model really is (Monte-Carlo dropout), how confidently it answers images it "
    "has never seen, and how its answer formed epoch by epoch.\n"
    "- **Dataset explorer**: every class's average image, samples to browse, and the class counts."
)
st.subheader("The three networks")
st.table(
    [
        {
            "network": ARCH_TITLES[arch],
            "what it is": ARCH_SUMMARIES[arch],
            "parameters": f"{count_parameters(build_model(arch)):,}",
        }
        for arch in ARCH_TITLES
    ]
)
s = settings()
st.caption(
    f"On this server a run may train for up to {s.max_run_minutes} minutes, {s.max_running} at a "
    f"time, and each student keeps up to {s.saved_per_student} saved models. Everything here also "
    "works from the command line: `python -m mnistcore --help`."
)
