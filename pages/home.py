import streamlit as st

from mnistcore.models import build_model, count_parameters
from pages import common  # noqa: F401  (every page imports it first: see there)

st.title("How small neural networks read handwriting")
st.write(
    "A classroom lab for MNIST digits and Fashion-MNIST clothes: 28x28 gray images, ten classes "
    "each, and three small networks that learn to tell them apart."
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
NETWORKS = {"logreg": ("logistic regression", "one linear layer: 784 pixels to 10 scores"),
            "mlp": ("MLP", "784-256-128-64-10 with ReLU, dropout after each hidden layer"),
            "cnn": ("CNN", "two 5x5 convolution blocks and a small dense head")}
st.table([{"network": name, "what it is": what, "parameters": f"{count_parameters(build_model(arch)):,}"}
          for arch, (name, what) in NETWORKS.items()])
st.caption("Everything here also works from the command line: `python -m mnistcore --help`.")
