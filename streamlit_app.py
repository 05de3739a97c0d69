import contextlib

import streamlit as st

from mnistcore.errors import StorageError
from pages.server import announce_teacher_link, classroom, settings, student_id, training_queue

st.set_page_config(page_title="How small networks read handwriting", page_icon="✍️", layout="wide")
settings()  # a teacher's typo in an MNISTCORE_* variable is shown on every page, naming it
announce_teacher_link()  # once per server, in its console
training_queue()  # started by the first visitor to any page: queued runs resume after a restart
for key in [k for k in st.session_state if str(k).startswith("train_")]:
    # Streamlit forgets a page's widget values when you leave it; re-saving them here keeps the
    # Train page's settings while a student draws.
    st.session_state[key] = st.session_state[key]

draw = st.Page("pages/draw.py", title="Draw a digit", icon=":material/draw:", default=True)
clothes = st.Page("pages/clothes.py", title="Clothes", icon=":material/checkroom:")
train = st.Page("pages/train.py", title="Train", icon=":material/model_training:")
teacher = st.Page("pages/teacher.py", title="Teacher", icon=":material/co_present:", url_path="teacher",
                  visibility="hidden")  # fmt: skip
page = st.navigation(
    {
        "Try it": [draw, clothes],
        "Learn": [train],
        "Look inside": [
            st.Page("pages/evaluate.py", title="Evaluate a model", icon=":material/grid_on:"),
            st.Page("pages/inside.py", title="Inside the network", icon=":material/visibility:"),
            st.Page("pages/dataset.py", title="Dataset explorer", icon=":material/photo_library:"),
        ],
        "About": [
            st.Page("pages/home.py", title="About this lab", icon=":material/school:"),
            teacher,
        ],
    },
    position="top",  # no sidebar: on a tablet the whole width is the page's
)
if page.url_path != teacher.url_path:
    # On every student's page, so a reload anywhere keeps their runs (and says when a code was
    # bad), and the teacher's roster knows who is here and what they are doing.
    code = student_id()
    room = classroom()
    if room is not None:
        doing = {draw.url_path: "drawing", clothes.url_path: "drawing", train.url_path: "training"}
        with contextlib.suppress(StorageError):  # the roster misses a beat; the student's page does not
            room.seen(code, doing.get(page.url_path, "looking"))
page.run()
