import csv
import io
import sqlite3
import threading

from mnistcore.history import History
from mnistcore.training import EpochMetrics, TrainConfig

CONFIG = TrainConfig(dataset="mnist", arch="mlp", epochs=3)


def metrics(epoch, val_loss=0.5, best=True):
    return EpochMetrics(0, epoch, 0.4, val_loss, 0.9, 1.5, best)


def test_a_job_keeps_its_configs_in_order_and_its_epochs(tmp_path):
    history = History(tmp_path / "h.sqlite")
    job = history.add_job("ann", "pair", [CONFIG, TrainConfig(dataset="mnist", arch="mlp", epochs=3, dropout=0.2)])
    runs = history.runs(job)
    assert [r.config.dropout for r in runs] == [0.0, 0.2] and [r.status for r in runs] == ["queued"] * 2
    assert runs[1].config == TrainConfig(dataset="mnist", arch="mlp", epochs=3, dropout=0.2)
    history.add_epoch(runs[0].id, metrics(1))
    history.add_epoch(runs[0].id, metrics(2, 0.6, False))
    assert [e["epoch"] for e in history.epochs(runs[0].id)] == [1, 2]
    assert history.epochs(runs[1].id) == []


def test_metrics_export_as_csv_with_a_header(tmp_path):
    history = History(tmp_path / "h.sqlite")
    run = history.runs(history.add_job("ann", "one", [CONFIG]))[0]
    history.add_epoch(run.id, metrics(1, 0.5))
    history.add_epoch(run.id, metrics(2, 0.45))
    rows = list(csv.DictReader(io.StringIO(history.metrics_csv(run.id))))
    assert [r["epoch"] for r in rows] == ["1", "2"] and float(rows[1]["val_loss"]) == 0.45
    assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "val_accuracy", "seconds", "is_best"]


def test_queue_positions_and_owners(tmp_path):
    history = History(tmp_path / "h.sqlite")
    a = history.add_job("ann", "a", [CONFIG])
    b = history.add_job("bob", "b", [CONFIG])
    c = history.add_job("ann", "c", [CONFIG])
    history.start_job(a)
    assert [history.queue_position(j) for j in (a, b, c)] == [0, 1, 2]
    assert [j.id for j in history.jobs(owner="ann")] == [a, c]
    assert [j.id for j in history.jobs(status=("queued",))] == [b, c]


def test_a_write_waits_for_another_writers_lock_and_loses_no_row(tmp_path):
    history = History(tmp_path / "h.sqlite")
    run = history.runs(history.add_job("ann", "one", [CONFIG]))[0]
    blocker = sqlite3.connect(tmp_path / "h.sqlite", isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    waiting = threading.Thread(target=history.add_epoch, args=(run.id, metrics(1)))
    waiting.start()
    waiting.join(timeout=0.5)
    assert waiting.is_alive()  # it cannot write while the other writer holds the lock: it waits
    blocker.execute("COMMIT")
    waiting.join(timeout=30)
    assert not waiting.is_alive()
    blocker.close()
    writers = [threading.Thread(target=history.add_epoch, args=(run.id, metrics(e))) for e in range(2, 22)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    assert [e["epoch"] for e in history.epochs(run.id)] == list(range(1, 22))
