import streamlit as st

st.title("How small neural networks read handwriting")
st.write(
    "A classroom lab for MNIST digits and Fashion-MNIST clothes. The core is in place: "
    "datasets, models, the trainer and checkpoints (try `python -m mnistcore --help`)."
)
st.subheader("Coming next")
st.markdown(
    "- **Draw**: draw a digit and watch the network's ten probabilities change as you draw.\n"
    "- **Train**: train with and without dropout side by side and watch the curves live; "
    "see overfitting and early stopping happen.\n"
    "- **Insight**: confusion matrix, mistakes, dataset explorer, and what the network sees."
)
