"""The teacher's view, for the projector: who is here, the class's experiment on one chart, the
best runs, the queue, the experiment pushed to every student, and the class's handwriting.
Opened with the teacher's key (``?key=...``); without it, nothing of the class is shown."""

import streamlit as st

from mnistcore.class_charts import BANDS, class_curves
from mnistcore.classroom import AWAY, GROUP_BY, class_csv, class_runs, end_lesson, groups, leaderboard
from mnistcore.display import enlarge, plain
from mnistcore.errors import MnistcoreError
from mnistcore.jobs import MAX_RUNNING
from mnistcore.presets import PRESETS, TrainForm
from mnistcore.status import Status
from mnistcore.teacher_key import VARIABLE, is_teacher
from pages.server import catalog, classroom, handwriting, job_manager, teacher_key_here

LIVE_EVERY_S = 2.0
DRAWINGS_SHOWN = 40
# Larger type than the students' pages: the teacher's view is read from the back of the room.
PROJECTOR_CSS = """<style>
.st-key-teacher p, .st-key-teacher li, .st-key-teacher td, .st-key-teacher th { font-size: 1.25rem; }
.st-key-teacher [data-testid="stMetricValue"], .st-key-teacher [data-testid="stMetricValue"] * { font-size: 3rem; }
</style>"""

key = teacher_key_here()
given = st.query_params.get("key") or st.session_state.get("teacher_key")
if key is None or not is_teacher(given, key):
    st.title("Teacher's view")
    st.info(
        "This page is for the teacher, and opens with the teacher's link. The server prints it when it starts "
        "(`make run` shows it first), or run `python -m mnistcore teacher` on the server. A teacher can also "
        f"choose the key: set {VARIABLE} before starting the server.",
        icon=":material/lock:",
    )
    st.stop()
# The tab keeps the key; the address bar, which the projector shows the class, does not.
st.session_state.teacher_key = given
st.query_params.pop("key", None)

room, drawings = classroom(), handwriting()
if room is None or drawings is None:
    st.error("The server cannot write to its runs folder, so there is no class to show. Check the disk.")
    st.stop()
try:
    manager = job_manager()
except MnistcoreError as exc:  # a runs folder it cannot write, a Ray cluster that does not answer
    st.error(f"Training is off for now. {exc}", icon=":material/error:")
    st.stop()
history = manager.history
st.html(PROJECTOR_CSS)


@st.fragment(run_every=LIVE_EVERY_S)
def live() -> None:
    # Everything that changes while the class works, redrawn every LIVE_EVERY_S seconds.
    roster = room.roster()
    jobs = manager.jobs()
    running = [j for j in jobs if j.status == Status.RUNNING]
    waiting = [j for j in jobs if j.status == Status.QUEUED]
    here, training, queued, kept = st.columns(4)
    here.metric("Students here", sum(s.doing != AWAY for s in roster))
    training.metric("Runs training", len(running))
    queued.metric("Runs waiting", len(waiting))
    kept.metric("Drawings kept", drawings.size())

    chart, side = st.columns([3, 2], gap="large")
    with chart:
        st.subheader("The class's experiment")
        pick, band = st.columns(2)
        by = pick.selectbox("Group the runs by", list(GROUP_BY), key="teacher_group_by")
        spread = band.radio("Shaded band", list(BANDS), format_func=BANDS.get, key="teacher_band", horizontal=True)
        runs = class_runs(history)
        if runs:
            st.plotly_chart(class_curves(groups(runs, by), spread), key="class_chart", config={"displayModeBar": False})
        else:
            st.info("The class's validation curves appear here as soon as a run finishes its first epoch.")
    with side:
        st.subheader("Who is here")
        if roster:
            st.table(
                [
                    {
                        "student": plain(s.name),
                        "doing": s.doing,
                        "training": str(s.running or ""),
                        "waiting": str(s.queued or ""),
                    }
                    for s in roster
                ],
                hide_index=True,
            )
        else:
            st.caption("Nobody yet. Students appear when they open any page.")
    st.subheader("Best runs")
    board = leaderboard(runs, limit=10)
    if board:
        st.dataframe(
            board,
            hide_index=True,
            column_config={
                "best validation loss": st.column_config.NumberColumn(format="%.3f"),
                "test accuracy": st.column_config.NumberColumn(format="percent"),
            },
        )
    queue(running + waiting, room.names())


def queue(active, names: dict[str, str]) -> None:
    st.subheader("The queue")
    st.number_input(
        "Runs training at once",
        1,
        MAX_RUNNING,
        value=manager.limits.max_running,
        key="teacher_max_running",
        on_change=lambda: manager.set_max_running(st.session_state.teacher_max_running),
        help="More at once share the server's cores: each one trains slower. Back to the server's setting "
        "when it restarts.",
        width=240,
    )
    if not active:
        st.caption("No run is training or waiting.")
    for job in active:
        text, button = st.columns([4, 1], vertical_alignment="center")
        state = "training" if job.status == Status.RUNNING else f"waiting, number {history.queue_position(job.id)}"
        text.write(f"Run {job.id}, {plain(names.get(job.owner, 'a student'))}: {plain(job.title)} ({state})")
        label = "Stop" if job.status == Status.RUNNING else "Cancel"
        if button.button(label, key=f"teacher-stop-{job.id}", icon=":material/stop:", width="stretch"):
            manager.stop(job.id, by_teacher=True)
            st.toast(f"Run {job.id}: {'stopping' if label == 'Stop' else 'cancelled'}.")


def suggest() -> None:
    current = room.suggestion()
    if current is not None:
        st.success(f"Every student's Train page suggests: {plain(current.title)}", icon=":material/campaign:")
    preset = st.selectbox("Preset", list(PRESETS), key="teacher_preset", width=480)
    if preset in PRESETS:
        st.caption(PRESETS[preset].what_to_see)
    with st.container(horizontal=True):
        if st.button("Send to the class", type="primary", icon=":material/send:"):
            try:
                room.suggest(TrainForm.from_preset(PRESETS[preset]))
                st.rerun()
            except (ValueError, MnistcoreError) as exc:
                st.error(str(exc))
        if st.button("Withdraw", disabled=current is None):
            room.withdraw()
            st.rerun()


@st.fragment(run_every=LIVE_EVERY_S)
def class_handwriting() -> None:
    counts = drawings.counts()
    if not sum(counts):
        st.info('No drawings yet. Students add theirs on the Draw page: "Right", or "No, it was a ...".')
        return
    st.bar_chart({"drawings": {str(d): n for d, n in enumerate(counts)}}, x_label="digit", height=220)
    npz, png = st.columns(2)
    # Made when clicked, not on every rerun: a full class's set is thousands of PNGs.
    npz.download_button("Download as .npz (NumPy)", drawings.export_npz, "class-handwriting.npz",
                        on_click="ignore", icon=":material/download:")  # fmt: skip
    png.download_button("Download as PNG folders (zip)", drawings.export_png_zip, "class-handwriting.zip",
                        on_click="ignore", icon=":material/download:")  # fmt: skip
    digit = st.selectbox("Show the drawings of", ["every digit", *range(10)], key="teacher_digit")
    shown = drawings.drawings(label=None if digit == "every digit" else digit, limit=DRAWINGS_SHOWN)
    st.caption(f"The newest {len(shown)}; delete any that is not a digit or is wrongly labelled.")
    for row in range(0, len(shown), 8):
        for column, drawing in zip(st.columns(8), shown[row : row + 8], strict=False):
            column.image(enlarge(drawing.image, 84), caption=f"a {drawing.label}")
            if column.button("Delete", key=f"drawing-{drawing.id}", icon=":material/delete:"):
                drawings.delete(drawing.id, owner=None)
                st.rerun(scope="fragment")


def after_the_lesson() -> None:
    st.download_button("Every run's epochs, with names (CSV)", lambda: class_csv(history), "class-runs.csv",
                       mime="text/csv", on_click="ignore", icon=":material/table:")  # fmt: skip
    with st.expander("Clear the class's work", icon=":material/delete_forever:"):
        st.write(
            "Stops every run, and deletes every run's curves, every saved model and every name. "
            "This cannot be undone: download the CSV first."
        )
        also = st.checkbox("Delete the class's handwriting too")
        sure = st.checkbox("Yes, clear the class's work")
        if st.button("Clear", type="primary", disabled=not sure, icon=":material/delete_forever:"):
            gone = end_lesson(manager, catalog(), drawings if also else None)
            st.success("Cleared: " + ", ".join(f"{n} {what}" for what, n in gone.items()) + ".")


with st.container(key="teacher"):
    st.title("Teacher's view")
    # Tabs, not one long page: the live tab redraws every few seconds, and a control below a
    # redrawing chart would move under the teacher's finger.
    now, push, written, after = st.tabs(["The class", "Suggest an experiment", "Handwriting", "After the lesson"])
    with now:
        live()
    with push:
        suggest()
    with written:
        class_handwriting()
    with after:
        after_the_lesson()
