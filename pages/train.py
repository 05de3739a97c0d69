import streamlit as st

from mnistcore.budget import describe
from mnistcore.charts import accuracy_curves, loss_curves
from mnistcore.data import DATASETS, get_spec
from mnistcore.errors import LimitError, MnistcoreError, StorageError
from mnistcore.models import ARCH_TITLES
from mnistcore.presets import (
    BATCH_SIZES,
    DROPOUT_RANGE,
    DROPOUT_STEP,
    FIRST_PRESET,
    LEARNING_RATES,
    MAX_EPOCHS,
    MAX_SEED,
    PRESETS,
    TRAIN_SIZES,
    TrainForm,
)
from mnistcore.status import Status
from pages.server import catalog, settings, student_id, training_queue

manager = training_queue()
if manager is None:
    st.title("Train a network")
    st.error(
        "Training is off for now: the server cannot write to its runs folder (the disk may be full or "
        "read-only). Tell your teacher; the other pages still work.",
        icon=":material/error:",
    )
    st.stop()
history = manager.history
owner = student_id()


def apply_preset():
    preset = PRESETS.get(st.session_state.train_preset)
    if preset is not None:
        st.session_state.update({f"train_{k}": v for k, v in TrainForm.from_preset(preset).as_values().items()})


if "train_dataset" not in st.session_state:
    st.session_state.train_preset = FIRST_PRESET
    apply_preset()

st.title("Train a network")
st.caption(
    "Train with and without dropout on the very same batches and watch the curves as they "
    "grow. Runs train in the background: you can leave this page and come back."
)

controls, view = st.columns([1, 2], gap="large")
with controls:
    st.selectbox("Preset", [*PRESETS, "Custom"], key="train_preset", on_change=apply_preset)
    if st.session_state.train_preset in PRESETS:
        st.caption(PRESETS[st.session_state.train_preset].what_to_see)
    st.segmented_control("Dataset", list(DATASETS), key="train_dataset", format_func=lambda d: DATASETS[d].title)
    st.selectbox("Model", list(ARCH_TITLES), key="train_arch", format_func=ARCH_TITLES.get)
    st.slider("Dropout p (for the run with dropout)", *DROPOUT_RANGE, step=DROPOUT_STEP, key="train_dropout")
    st.slider("Epochs", 1, MAX_EPOCHS, key="train_epochs")
    st.select_slider("Learning rate (Adam)", LEARNING_RATES, key="train_lr")
    st.select_slider("Batch size", BATCH_SIZES, key="train_batch_size")
    st.select_slider(
        "Training images",
        TRAIN_SIZES,
        key="train_train_size",
        help="Fewer images overfit sooner: the network can memorise them.",
    )
    with st.expander("More settings"):
        st.number_input(
            "Early-stopping patience (0: off)",
            0,
            MAX_EPOCHS,
            key="train_patience",
            help="Stop after this many epochs without a better validation loss.",
        )
        st.number_input("Seed", 0, MAX_SEED, key="train_seed")
        st.toggle("Augment (random shift, rotation, scale, stroke)", key="train_augment")

    form = TrainForm.from_values(
        {key[len("train_") :]: value for key, value in st.session_state.items() if str(key).startswith("train_")}
    )
    pair, too_long = None, False
    try:
        pair = form.configs()
        st.caption(
            f"With and without dropout this takes {describe(manager.check_budget(pair))}, once it "
            f"starts; without dropout only, {describe(manager.estimate(pair[:1]))}."
        )
    except LimitError as exc:
        st.warning(str(exc), icon=":material/timer:")
        too_long = True
    except (ValueError, MnistcoreError) as exc:  # what the browser sent cannot train
        st.error(f"These settings cannot train: {exc}")
        pair = None

    compare = st.button(
        "Train with and without dropout",
        type="primary",
        icon=":material/compare:",
        disabled=pair is None or too_long,
        width="stretch",
    )
    single = st.button("Train without dropout only", disabled=pair is None, width="stretch")
    if (compare or single) and pair is not None:
        try:
            st.session_state.watching = manager.submit(owner, form.title, pair if compare else pair[:1])
        except (ValueError, MnistcoreError) as exc:
            st.error(str(exc))

try:
    mine = manager.jobs(owner=owner)
except StorageError as exc:
    st.error(str(exc))
    st.stop()
if st.session_state.get("watching") not in {j.id for j in mine}:  # none yet, or not this student's
    st.session_state.watching = mine[-1].id if mine else None
watching = st.session_state.watching
any_active = any(j.active for j in mine)


@st.fragment(run_every=1.0 if any_active else None)
def live_view(job_id):
    job = manager.job(job_id)
    if job is None:
        return
    series = [(run.label, history.epochs(run.id)) for run in history.runs(job_id)]
    st.subheader(f"Run {job.id}: {job.title}")
    if job.status == Status.QUEUED:
        st.info(
            f"Waiting for a free trainer: number {history.queue_position(job.id)} in the queue.",
            icon=":material/hourglass_top:",
        )
    elif job.status == Status.RUNNING:
        st.progress(
            job.fraction_done,
            text=f"Epoch {max(job.epoch, 1)} of {job.epochs}"
            + (f", batch {job.batch} of {job.batches}" if job.batches else ", loading the data ..."),
        )
    elif job.status == Status.COMPLETED:
        st.success(job.message or "Training finished.", icon=":material/check_circle:")
    elif job.status.kept_best:
        st.warning(job.message + " The best epoch so far was kept.", icon=":material/stop_circle:")
    else:
        st.error(f"This run {job.status.described}. {job.message}", icon=":material/error:")
    if job.active and st.button("Stop training", icon=":material/stop:", key=f"stop-{job.id}"):
        try:
            manager.stop(job.id, owner=owner)
        except MnistcoreError as exc:
            st.error(str(exc))
    st.plotly_chart(loss_curves(series, job.epochs), key=f"loss-{job.id}", config={"displayModeBar": False})
    st.plotly_chart(accuracy_curves(series, job.epochs), key=f"acc-{job.id}", config={"displayModeBar": False})
    st.caption(
        "Solid: training loss. Dashed: validation loss, on 10,000 images the network never trains "
        "on. The shaded band is the gap between them; the star marks the best epoch, the one "
        "early stopping keeps."
    )
    if job.active != st.session_state.get("was_active", job.active):
        st.session_state.was_active = job.active
        st.rerun(scope="app")  # the run ended: refresh the history and the save controls
    st.session_state.was_active = job.active


with view:
    if watching is None:
        st.info("Pick a preset and press **Train with and without dropout**.", icon=":material/model_training:")
    else:
        live_view(watching)
        watched = manager.job(watching)
        for run in history.runs(watching):
            if run.checkpoint and watched is not None and not watched.active:
                with st.form(f"save-{run.id}", border=False):
                    name_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
                    name = name_col.text_input(
                        f"Save {run.label} (best epoch {run.best_epoch}, test accuracy {run.test_accuracy:.1%}) as",
                        value=run.name,
                        max_chars=40,
                    )
                    if button_col.form_submit_button("Save", icon=":material/save:"):
                        try:
                            saved = catalog().save(run.checkpoint, name, owner, run_id=run.id)
                            st.success(
                                f"Saved as {saved.name}: pick it on the {get_spec(run.config.dataset).tried_on} page."
                            )
                        except MnistcoreError as exc:
                            st.error(str(exc))

st.divider()
st.subheader("Your runs")
if not mine:
    st.caption("Runs you start appear here, and stay after a reload or a server restart.")
else:
    runs = {run.id: (job, run) for job in reversed(mine) for run in history.runs(job.id)}
    st.table(
        [
            {
                "run": job.id,
                "what": f"{job.title}: {run.label}",
                "status": run.status.described,
                "best epoch": str(run.best_epoch or ""),
                "test accuracy": f"{run.test_accuracy:.1%}" if run.test_accuracy else "",
            }
            for job, run in runs.values()
        ],
        hide_index=True,
    )
    labels = {run_id: f"run {job.id}: {job.title}: {run.label}" for run_id, (job, run) in runs.items()}
    picked = [
        i for i in st.multiselect("Overlay the curves of", list(labels), format_func=labels.get) if i in labels
    ]  # a value the browser made up is not one of this student's runs
    if picked:
        st.plotly_chart(loss_curves([(labels[i], history.epochs(i)) for i in picked]), config={"displayModeBar": False})
        for i in picked:
            run = runs[i][1]
            st.download_button(
                f"Metrics of {labels[i]} (CSV)",
                history.metrics_csv(i),
                file_name=f"{run.name}-metrics.csv",
                mime="text/csv",
                key=f"csv-{i}",
            )

    def watch_picked():
        if st.session_state.watch_pick is not None:
            st.session_state.watching = st.session_state.watch_pick

    titles = {j.id: j.title for j in mine}
    st.selectbox(
        "Watch run",
        list(reversed(titles)),
        index=None,
        key="watch_pick",
        on_change=watch_picked,
        format_func=lambda i: f"run {i}: {titles.get(i, '')}",
        placeholder="Pick a run to show above",
    )

yours = catalog().saved(owner=owner)
if yours:
    st.subheader("Your saved models")
    st.caption(f"You may keep {settings().saved_per_student} saved models; delete one to make room.")
    for entry in yours:
        name_col, button_col = st.columns([3, 1], vertical_alignment="center")
        name_col.write(entry.title(owner))
        if button_col.button("Delete", key=f"delete-{entry.name}", icon=":material/delete:"):
            try:
                catalog().delete(entry.name, owner)
                st.rerun()
            except MnistcoreError as exc:
                st.error(str(exc))
