import streamlit as st

from pages.server import settings, student_id, training_queue

st.set_page_config(page_title="How small networks read handwriting", page_icon="✍️", layout="wide")
settings()  # a teacher's typo in an MNISTCORE_* variable is shown on every page, naming it
student_id()  # on every page, so a reload anywhere keeps this student's runs (and says when a code was bad)
training_queue()  # started by the first visitor to any page: queued runs resume after a restart
for key in [k for k in st.session_state if str(k).startswith("train_")]:
    # Streamlit forgets a page's widget values when you leave it; re-saving them here keeps the
    # Train page's settings while a student draws.
    st.session_state[key] = st.session_state[key]

st.navigation(
    {
        "Try it": [
            st.Page("pages/draw.py", title="Draw a digit", icon=":material/draw:", default=True),
            st.Page("pages/clothes.py", title="Clothes", icon=":material/checkroom:"),
        ],
        "Learn": [
            st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        ],
        "Look inside": [
            st.Page("pages/evaluate.py", title="Evaluate a model", icon=":material/grid_on:"),
            st.Page("pages/inside.py", title="Inside the network", icon=":material/visibility:"),
            st.Page("pages/dataset.py", title="Dataset explorer", icon=":material/photo_library:"),
        ],
        "About": [
            st.Page("pages/home.py", title="About this lab", icon=":material/school:"),
        ],
    },
    position="top",  # no sidebar: on a tablet the whole width is the page's
).run()
