import streamlit as st

from mnistcore.budget import describe
from mnistcore.charts import accuracy_curves, loss_curves
from mnistcore.class_charts import class_curves
from mnistcore.classroom import class_runs, groups
from mnistcore.data import DATASETS, get_spec
from mnistcore.display import plain
from mnistcore.errors import LimitError, MnistcoreError, StorageError
from mnistcore.fine_tune import EPOCHS as TUNING_EPOCHS
from mnistcore.fine_tune import FineTuned, fine_tune
from mnistcore.glossary import HELP
from mnistcore.jobs import job_to_watch
from mnistcore.lesson import what_happened
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
    with_seeds,
)
from mnistcore.status import Status
from mnistcore.training import Progress
from pages.server import catalog, classroom, handwriting, job_manager, offered_models, settings, student_id
from pages.widgets import load_model, page_header, pick_model

CUSTOM = "Custom"
CHART_CONFIG = {"displayModeBar": False}

page_header(
    "Train a network",
    "Train a network with and without dropout on the very same pictures and watch it learn. "
    "Runs train in the background: you can leave this page and come back.",
    more="Each picture is shown to both networks in the same order, so the only difference between the two "
    "runs is dropout. **Solid lines** are the training loss, on the pictures the network learns from; "
    "**dashed lines** the validation loss, on 10,000 pictures it never learns from. When the dashed line "
    "turns up while the solid one keeps falling, the network is learning its pictures by heart "
    "(overfitting). The **star** marks the best epoch, the one early stopping keeps.",
)
try:
    manager = job_manager()
except MnistcoreError as exc:  # a runs folder it cannot write, a Ray cluster that does not answer
    st.error(f"Training is off for now. {exc} The other pages still work.", icon=":material/error:")
    st.stop()
history = manager.history
owner = student_id()
try:
    mine = manager.jobs(owner=owner)
except StorageError as exc:
    st.error(str(exc))
    st.stop()


def show_form(form: TrainForm) -> None:
    st.session_state.update({f"train_{k}": v for k, v in form.as_values().items()})


def apply_preset() -> None:
    preset = PRESETS.get(st.session_state.train_preset)
    if preset is not None:
        show_form(TrainForm.from_preset(preset))


if "train_dataset" not in st.session_state:  # a new visit: what the student last trained, else a preset
    if mine:
        show_form(TrainForm.from_configs([run.config for run in history.runs(mine[-1].id)]))
    else:
        show_form(TrainForm.from_preset(PRESETS[FIRST_PRESET]))
form = TrainForm.from_values(
    {key[len("train_") :]: value for key, value in st.session_state.items() if str(key).startswith("train_")}
)
st.session_state.train_preset = form.preset() or CUSTOM  # the preset's name only while the settings are it


def submit(forms: list[TrainForm], with_dropout: bool = True) -> list[int]:
    """Queue a run of each form, as far as the queue takes them; says what it could not."""
    queued = []
    for each in forms:
        try:
            queued.append(manager.submit(owner, each.title, each.configs(with_dropout)))
        except (ValueError, MnistcoreError) as exc:
            st.error(str(exc))
            break
    if queued:
        for key in ("watching", "watch_pick"):  # follow the run that trains, which may be an earlier one
            st.session_state.pop(key, None)
    return queued


def teachers_suggestion() -> None:
    room = classroom()
    try:
        suggestion = room.suggestion() if room is not None else None
    except MnistcoreError:  # the history cannot be read just now: no suggestion shown
        return
    if suggestion is None:
        return
    with st.container(border=True):
        st.markdown(f":material/campaign: **Your teacher suggests:** {plain(suggestion.title)}")
        run_it = st.button("Run it", type="primary", icon=":material/play_arrow:", key=f"suggested-{suggestion.id}")
        if run_it and submit([suggestion.form]):
            show_form(suggestion.form)  # the form shows what is training
            st.rerun()


# Controls on the left, the run on the right: on a projector or a laptop the preset, the Train
# button, the live chart and Stop are all on the first screen (a phone stacks the two).
controls, board = st.columns([2, 3], gap="large")
with controls:
    teachers_suggestion()
    st.selectbox("Preset", [*PRESETS, CUSTOM], key="train_preset", on_change=apply_preset, help=HELP["preset"])
    if st.session_state.train_preset in PRESETS:
        st.caption(PRESETS[st.session_state.train_preset].what_to_see)
    pair, too_long, note = None, False, None
    try:
        pair = form.configs()
        note = (
            f"With and without dropout this takes {describe(manager.check_budget(pair))} once it starts; "
            f"without dropout only, {describe(manager.estimate(pair[:1]))}."
        )
    except LimitError as exc:
        note, too_long = str(exc), True
    except (ValueError, MnistcoreError) as exc:  # what the browser sent cannot train
        st.error(f"These settings cannot train: {exc}")
    already = {n: manager.same_as_active(owner, pair[:n]) for n in (1, 2)} if pair else {}
    compare = st.button(
        "Train with and without dropout",
        type="primary",
        icon=":material/compare:",
        disabled=pair is None or too_long or already[2] is not None,
        width="stretch",
    )
    single = st.button("Train without dropout only", disabled=pair is None or already[1] is not None, width="stretch")
    seeds = st.button("Repeat with 3 seeds", disabled=pair is None or too_long, width="stretch", help=HELP["seeds"])
    if pair is not None and (compare or single):
        submit([form], with_dropout=compare)
        mine = manager.jobs(owner=owner)
    if pair is not None and seeds:
        st.session_state.seed_jobs = submit(with_seeds(form))
        mine = manager.jobs(owner=owner)
    if already.get(2) is not None or already.get(1) is not None:
        same = already[2] or already[1]
        note = f"This run is already {'training' if same.status == Status.RUNNING else 'waiting'}: run {same.id}."
    if note:
        (st.warning if too_long else st.caption)(note)

    with st.expander("Settings", icon=":material/tune:"):
        st.segmented_control(
            "Dataset", list(DATASETS), key="train_dataset", required=True, format_func=lambda d: DATASETS[d].title
        )
        st.selectbox("Model", list(ARCH_TITLES), key="train_arch", format_func=ARCH_TITLES.get, help=HELP["model"])
        st.slider("Dropout p (for the run with dropout)", *DROPOUT_RANGE, step=DROPOUT_STEP, key="train_dropout",
                  help=HELP["dropout"])  # fmt: skip
        st.slider("Epochs", 1, MAX_EPOCHS, key="train_epochs", help=HELP["epochs"])
        st.select_slider("Learning rate", LEARNING_RATES, key="train_lr", help=HELP["learning rate"])
        st.select_slider("Batch size", BATCH_SIZES, key="train_batch_size", help=HELP["batch size"])
        st.select_slider("Training images", TRAIN_SIZES, key="train_train_size", help=HELP["training images"])
        st.number_input("Early-stopping patience (0: off)", 0, MAX_EPOCHS, key="train_patience", help=HELP["patience"])
        st.number_input("Seed", 0, MAX_SEED, key="train_seed", help=HELP["seed"])
        st.toggle("Augment (turn, move, resize the pictures)", key="train_augment", help=HELP["augment"])


def save_forms(job) -> None:
    for run in history.runs(job.id):
        if not run.checkpoint:
            continue
        with st.form(f"save-{run.id}", border=False):
            name_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
            name = name_col.text_input(
                f"Save the run {run.label} (best epoch {run.best_epoch}, {run.test_accuracy:.1%} right on the "
                f"test images) as",
                value=run.name,
                max_chars=40,
            )
            if button_col.form_submit_button("Save", icon=":material/save:"):
                try:
                    saved = catalog().save(run.checkpoint, name, owner, run_id=run.id)
                    offered_models.clear()
                    st.success(f"Saved as {saved.name}: pick it on the {get_spec(run.config.dataset).tried_on} page.")
                except MnistcoreError as exc:
                    st.error(str(exc))


def status_line(job) -> None:
    if job.status == Status.QUEUED:
        st.info(
            f"Waiting for a free trainer: number {history.queue_position(job.id)} in the queue.",
            icon=":material/hourglass_top:",
        )
    elif job.status == Status.RUNNING:
        detail = f", batch {job.batch} of {job.batches}" if job.batches else ", loading the data ..."
        if job.message:  # a replay says where its epochs come from, and has no batches
            st.info(job.message, icon=":material/replay:")
            detail = ""
        st.progress(job.fraction_done, text=f"Epoch {max(job.epoch, 1)} of {job.epochs}{detail}")
    elif job.status == Status.COMPLETED:
        st.success(job.message or "Training finished.", icon=":material/check_circle:")
    elif job.status.kept_best:
        st.warning(job.message + " The best epoch so far was kept.", icon=":material/stop_circle:")
    elif job.status == Status.CANCELLED:
        st.info(job.message or "Cancelled before it started.", icon=":material/cancel:")
    else:
        st.error(f"This run ended: {job.status.described}. {job.message}", icon=":material/error:")


def stop_button(job, where) -> None:
    queued = job.status == Status.QUEUED
    if where.button("Cancel" if queued else "Stop training", icon=":material/stop:", key=f"stop-{job.id}",
                    width="stretch"):  # fmt: skip
        try:
            manager.stop(job.id, owner=owner)
        except MnistcoreError as exc:
            st.error(str(exc))
            return
        if queued:
            st.rerun(scope="fragment")
        st.toast("Stopping at the end of this batch; the best epoch so far is kept.")


def watch_picked() -> None:
    st.session_state.watching = st.session_state.watch_pick


@st.fragment(run_every=1.0 if any(j.active for j in mine) else None)
def live() -> None:
    # One live fragment: the run being watched and the table of runs refresh together, every
    # second while any of the student's runs is waiting or training.
    jobs = manager.jobs(owner=owner)
    job = job_to_watch(jobs, st.session_state.get("watching"))
    if job is None:
        st.info("Pick a preset and press **Train with and without dropout**.", icon=":material/model_training:")
        return
    runs = history.runs(job.id)
    rows = [history.epochs(run.id) for run in runs]
    series = [(run.label, run_rows) for run, run_rows in zip(runs, rows, strict=True)]
    st.markdown(f"**Run {job.id}:** {job.title}")
    status_line(job)
    button, switch = st.columns(2, vertical_alignment="center")
    if job.active:
        stop_button(job, button)
    log_y = switch.toggle("Log scale", key="train_chart_log", help=HELP["log scale"])
    st.plotly_chart(loss_curves(series, job.epochs, log_y=log_y), key=f"loss-{job.id}", config=CHART_CONFIG)
    if not job.active:
        dropouts = [run.config.dropout for run in runs]
        for sentence in what_happened([(*s, p) for s, p in zip(series, dropouts, strict=True)]):
            st.info(sentence, icon=":material/lightbulb:")
    st.plotly_chart(accuracy_curves(series, job.epochs), key=f"acc-{job.id}", config=CHART_CONFIG)
    seed_jobs = [i for i in st.session_state.get("seed_jobs", []) if i in {j.id for j in jobs}]
    if len(seed_jobs) > 1:
        st.markdown(f"**Runs {', '.join(map(str, seed_jobs))} with {len(seed_jobs)} seeds:** each setting's average, "
                    "shaded from its lowest to its highest run")  # fmt: skip
        seeded = groups(class_runs(history, seed_jobs), "dropout")
        st.plotly_chart(class_curves(seeded, height=320), key="seeds", config=CHART_CONFIG)
    if job.active != st.session_state.get("was_active", job.active):
        st.session_state.was_active = job.active
        st.rerun(scope="app")  # the run ended: the save controls below appear
    st.session_state.was_active = job.active

    for waiting in jobs:
        if waiting.status == Status.QUEUED and waiting.id != job.id:
            text, button = st.columns([3, 2], vertical_alignment="center")
            text.write(
                f"Run {waiting.id} is waiting, number {history.queue_position(waiting.id)} in the queue: "
                f"{waiting.title}"
            )
            stop_button(waiting, button)

    st.subheader("Your runs")
    st.table(
        [
            {
                "run": j.id,
                "what": f"{j.title}: {run.label}",
                "status": run.status.described,
                "best epoch": str(run.best_epoch or ""),
                "right on test images": f"{run.test_accuracy:.1%}" if run.test_accuracy else "",
            }
            for j in reversed(jobs)
            for run in history.runs(j.id)
        ],
        hide_index=True,
    )
    titles = {j.id: f"run {j.id}: {j.title} ({j.status.described})" for j in reversed(jobs)}
    if st.session_state.get("watch_pick") not in titles:
        st.session_state.pop("watch_pick", None)
    st.selectbox(
        "Show another run above",
        list(titles),
        index=None,
        key="watch_pick",
        on_change=watch_picked,
        format_func=titles.get,
        placeholder="The one training, or the newest",
    )


with board:
    live()
    watched = job_to_watch(mine, st.session_state.get("watching"))
    if watched is not None and not watched.active:
        save_forms(watched)

if mine:
    with st.expander("Compare your runs' curves", icon=":material/stacked_line_chart:"):
        runs = {run.id: (job, run) for job in reversed(mine) for run in history.runs(job.id)}
        labels = {run_id: f"run {job.id}: {run.label}" for run_id, (job, run) in runs.items()}
        picked = [
            i for i in st.multiselect("Overlay the curves of", list(labels), format_func=labels.get) if i in labels
        ]  # a value the browser made up is not one of this student's runs
        if picked:
            series = [(labels[i], history.epochs(i)) for i in picked]
            st.plotly_chart(loss_curves(series), config=CHART_CONFIG)
            for i in picked:
                st.download_button(
                    f"Numbers of {labels[i]} (CSV)",
                    history.metrics_csv(i),
                    file_name=f"{runs[i][1].name}-metrics.csv",
                    mime="text/csv",
                    key=f"csv-{i}",
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
                offered_models.clear()
                st.rerun()
            except MnistcoreError as exc:
                st.error(str(exc))


def fine_tuning() -> None:
    drawings = handwriting()
    if drawings is None:
        return
    with st.expander("Fine-tune a digit model on our class's handwriting", icon=":material/tune:"):
        st.caption(
            "The model goes on learning from three quarters of the drawings the class kept on the Draw page, "
            "and is tested on the other quarter, which it never sees, before and after."
        )
        entry = pick_model("mnist", "Digit model", key="tune_model")
        if st.button("Fine-tune it", icon=":material/school:"):
            bar = st.progress(0.0, text="Fine-tuning ...")
            try:
                for event in fine_tune(load_model(entry), entry.card.arch, entry.card.dropout, drawings):
                    if isinstance(event, Progress):
                        done = (event.epoch - 1 + event.batch / event.batches) / TUNING_EPOCHS
                        bar.progress(done, text=f"Epoch {event.epoch} of {TUNING_EPOCHS}")
                    elif isinstance(event, FineTuned):
                        st.session_state.tuned = (entry.label, event.trained_on, event.before, event.after)
            except MnistcoreError as exc:
                st.warning(str(exc), icon=":material/draw:")
                return
            bar.empty()
        result = st.session_state.get("tuned")
        if result is not None:
            label, trained_on, before, after = result
            before_col, after_col = st.columns(2)
            before_col.metric(f"{label}, before", f"{before.accuracy:.0%}", f"{before.right} of {before.count} right",
                              delta_color="off", delta_arrow="off")  # fmt: skip
            after_col.metric("After fine-tuning", f"{after.accuracy:.0%}", f"{after.right} of {after.count} right",
                             delta_color="off", delta_arrow="off")  # fmt: skip
            st.caption(
                f"Trained on {trained_on} drawings, tested on {after.count}: with so few, one drawing is "
                f"{1 / after.count:.0%} of the score. More drawings from the class make it a fairer test."
            )


fine_tuning()
