from dataclasses import replace

import streamlit as st

from mnistcore.budget import describe
from mnistcore.charts import accuracy_curves, loss_curves
from mnistcore.data import DATASETS
from mnistcore.errors import LimitError, MnistcoreError, StorageError
from mnistcore.presets import PRESETS
from mnistcore.training import TrainConfig
from pages.common import catalog, settings, student_id, training_queue

ARCH_NAMES = {"logreg": "Logistic regression (784 -> 10)", "mlp": "MLP 784-256-128-64-10",
              "cnn": "CNN (two conv layers)"}
LEARNING_RATES = [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1.0, 10.0]
TRAIN_SIZES = [500, 1000, 2000, 5000, 10000, 20000, 50000]
STATUS_TEXT = {"completed": "finished", "early_stopped": "stopped early (patience)", "stopped": "stopped by you",
               "diverged": "diverged", "failed": "failed", "interrupted": "interrupted by a server restart",
               "cancelled": "cancelled", "queued": "waiting", "running": "training"}

manager = training_queue()
if manager is None:
    st.title("Train a network")
    st.error("Training is off for now: the server cannot write to its runs folder (the disk may be full or "
             "read-only). Tell your teacher; the other pages still work.", icon=":material/error:")
    st.stop()
history = manager.history
owner = student_id()


def apply_preset():
    preset = PRESETS.get(st.session_state.train_preset)
    if preset is None:
        return
    c = preset.config
    values = dict(dataset=c.dataset, arch=c.arch, dropout=preset.dropout, epochs=c.epochs, lr=c.lr,
                  batch_size=c.batch_size, train_size=c.train_size or 50000, seed=c.seed,
                  patience=c.patience or 0, augment=c.augment)
    st.session_state.update({f"train_{k}": v for k, v in values.items()})


if "train_dataset" not in st.session_state:
    st.session_state.train_preset = "Quick overfit"
    apply_preset()

st.title("Train a network")
st.caption("Train with and without dropout on the very same batches and watch the curves as they "
           "grow. Runs train in the background: you can leave this page and come back.")

controls, view = st.columns([1, 2], gap="large")
with controls:
    st.selectbox("Preset", [*PRESETS, "Custom"], key="train_preset", on_change=apply_preset)
    if st.session_state.train_preset in PRESETS:
        st.caption(PRESETS[st.session_state.train_preset].what_to_see)
    st.segmented_control("Dataset", list(DATASETS), key="train_dataset",
                         format_func=lambda d: DATASETS[d].title)
    st.selectbox("Model", list(ARCH_NAMES), key="train_arch", format_func=ARCH_NAMES.get)
    st.slider("Dropout p (for the run with dropout)", 0.05, 0.7, step=0.05, key="train_dropout")
    st.slider("Epochs", 1, 60, key="train_epochs")
    st.select_slider("Learning rate (Adam)", LEARNING_RATES, key="train_lr")
    st.select_slider("Batch size", [16, 32, 64, 128, 256], key="train_batch_size")
    st.select_slider("Training images", TRAIN_SIZES, key="train_train_size",
                     help="Fewer images overfit sooner: the network can memorise them.")
    with st.expander("More settings"):
        st.number_input("Early-stopping patience (0: off)", 0, 60, key="train_patience",
                        help="Stop after this many epochs without a better validation loss.")
        st.number_input("Seed", 0, 10_000, key="train_seed")
        st.toggle("Augment (random shift, rotation, scale, stroke)", key="train_augment")

    s = st.session_state
    try:
        base = TrainConfig(dataset=s.train_dataset, arch=s.train_arch, dropout=0.0, epochs=s.train_epochs,
                           lr=s.train_lr, batch_size=s.train_batch_size,
                           train_size=None if s.train_train_size == 50000 else s.train_train_size,
                           patience=s.train_patience or None, seed=s.train_seed, augment=s.train_augment)
    except (ValueError, MnistcoreError) as exc:
        st.error(f"These settings cannot train: {exc}")
        base = None

    too_long = False
    if base is not None:
        try:
            pair = [base, replace(base, dropout=s.train_dropout)]
            st.caption(f"With and without dropout this takes {describe(manager.check_budget(pair))}, once it "
                       f"starts; without dropout only, {describe(manager.estimate(pair[:1]))}.")
        except LimitError as exc:
            st.warning(str(exc), icon=":material/timer:")
            too_long = True
        except (ValueError, MnistcoreError) as exc:
            st.error(f"These settings cannot train: {exc}")
            base = None

    compare = st.button("Train with and without dropout", type="primary", icon=":material/compare:",
                        disabled=base is None or too_long, width="stretch")
    single = st.button("Train without dropout only", disabled=base is None, width="stretch")
    if (compare or single) and base is not None:
        title = f"{ARCH_NAMES[base.arch]} on {DATASETS[base.dataset].title}"
        try:
            configs = [base, replace(base, dropout=s.train_dropout)] if compare else [base]
            st.session_state.watching = manager.submit(owner, title, configs)
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
    if job.status == "queued":
        st.info(f"Waiting for a free trainer: number {history.queue_position(job.id)} in the queue.",
                icon=":material/hourglass_top:")
    elif job.status == "running":
        st.progress(job.fraction_done, text=f"Epoch {max(job.epoch, 1)} of {job.epochs}"
                    + (f", batch {job.batch} of {job.batches}" if job.batches else ", loading the data ..."))
    elif job.status in ("completed",):
        st.success(job.message or "Training finished.", icon=":material/check_circle:")
    elif job.status == "stopped":
        st.warning(job.message + " The best epoch so far was kept.", icon=":material/stop_circle:")
    else:
        st.error(f"This run {STATUS_TEXT.get(job.status, job.status)}. {job.message}", icon=":material/error:")
    if job.active and st.button("Stop training", icon=":material/stop:", key=f"stop-{job.id}"):
        try:
            manager.stop(job.id, owner=owner)
        except MnistcoreError as exc:
            st.error(str(exc))
    st.plotly_chart(loss_curves(series, job.epochs), key=f"loss-{job.id}", config={"displayModeBar": False})
    st.plotly_chart(accuracy_curves(series, job.epochs), key=f"acc-{job.id}", config={"displayModeBar": False})
    st.caption("Solid: training loss. Dashed: validation loss, on 10,000 images the network never trains "
               "on. The shaded band is the gap between them; the star marks the best epoch, the one "
               "early stopping keeps.")
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
                    name = name_col.text_input(f"Save {run.label} (best epoch {run.best_epoch}, test accuracy "
                                               f"{run.test_accuracy:.1%}) as", value=f"my-run-{run.id}",
                                               max_chars=40)
                    if button_col.form_submit_button("Save", icon=":material/save:"):
                        try:
                            saved = catalog().save(run.checkpoint, name, owner, run_id=run.id)
                            st.success(f"Saved as {saved.name}: pick it on the "
                                       f"{'Draw' if run.config.dataset == 'mnist' else 'Clothes'} page.")
                        except MnistcoreError as exc:
                            st.error(str(exc))

st.divider()
st.subheader("Your runs")
if not mine:
    st.caption("Runs you start appear here, and stay after a reload or a server restart.")
else:
    table = [{"run": job.id, "what": f"{job.title}: {run.label}", "status": STATUS_TEXT.get(run.status, run.status),
              "best epoch": str(run.best_epoch or ""), "test accuracy": f"{run.test_accuracy:.1%}" if run.test_accuracy else "",
              "_run_id": run.id}
             for job in reversed(mine) for run in history.runs(job.id)]
    st.table([{k: v for k, v in row.items() if not k.startswith("_")} for row in table], hide_index=True)
    labels = {row["_run_id"]: f"run {row['run']}: {row['what']}" for row in table}
    picked = [i for i in st.multiselect("Overlay the curves of", list(labels), format_func=labels.get)
              if i in labels]  # a value the browser made up is not one of this student's runs
    if picked:
        runs = [history.run(i) for i in picked]
        series = [(labels[r.id], history.epochs(r.id)) for r in runs]
        st.plotly_chart(loss_curves(series), config={"displayModeBar": False})
        for r in runs:
            st.download_button(f"Metrics of {labels[r.id]} (CSV)", history.metrics_csv(r.id),
                               file_name=f"run-{r.id}-metrics.csv", mime="text/csv", key=f"csv-{r.id}")
    def watch_picked():
        if st.session_state.watch_pick is not None:
            st.session_state.watching = st.session_state.watch_pick

    titles = {j.id: j.title for j in mine}
    st.selectbox("Watch run", list(reversed(titles)), index=None, key="watch_pick", on_change=watch_picked,
                 format_func=lambda i: f"run {i}: {titles.get(i, '')}", placeholder="Pick a run to show above")

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
