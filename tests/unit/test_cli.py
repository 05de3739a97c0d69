import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mnistcore.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv, says",
    [
        (["train", "--epochs", "0"], "epochs must be between 1 and 500"),
        (["train", "--lr", "-1"], "learning rate must be above 0"),
        (["train", "--dropout", "1.5"], "dropout must be at least 0 and below 1"),
        (["train", "--arch", "resnet"], "invalid choice: 'resnet'"),
        (["train", "--epochs", "many"], "invalid int value: 'many'"),
        (["train", "--compare-dropout", "1.5"], "dropout must be at least 0 and below 1"),
        (["train", "--dropout", "0.2", "--compare-dropout", "0.2"], "--compare-dropout must differ from --dropout"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["evaluate", "missing.pt"], "missing.pt: The file cannot be opened: No such file or directory."),
        (["predict", "missing.pt", "x.png"], "missing.pt: The file cannot be opened"),
        (["data", "cifar"], "Unknown dataset 'cifar'"),
    ],
)
def test_bad_arguments_and_missing_files_get_one_line_and_a_nonzero_exit(capsys, argv, says):
    code, out, err = run(capsys, *argv)
    assert code != 0
    assert says in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


SHIPPED = str(ROOT / "checkpoints" / "mnist-logreg.pt")


def cli(*argv, timeout=120):
    """The CLI in a process of its own: its exit code, its stderr, and its peak memory in MB."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mnistcore", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    deadline = threading.Timer(timeout, process.kill)
    deadline.start()
    err = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, not the largest of all
    deadline.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode != -9, f"mnistcore {' '.join(argv)} did not finish in {timeout} s"
    return process.returncode, err, usage.ru_maxrss / 1024


def test_a_checkpoint_that_is_text_gets_one_line_not_a_traceback(tmp_path):
    notes = tmp_path / "text.pt"
    notes.write_text("these are my notes\n" * 30)
    for argv in (["evaluate", str(notes)], ["predict", str(notes), str(notes)]):
        code, err, _ = cli(*argv)
        assert code == 1 and err == f"mnistcore: {notes}: It is not a readable checkpoint (corrupt or truncated).\n"


def test_predict_refuses_a_huge_file_before_reading_it_and_a_fifo_without_waiting(tmp_path):
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as f:
        f.truncate(3 * 1024**3)  # sparse: 3 GB that reading would put in memory
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    code, err, peak = cli("predict", SHIPPED, str(huge), str(fifo), timeout=60)
    assert code == 1
    assert err.splitlines() == [
        f"mnistcore: {huge}: The file is 3,221.2 MB; the limit is 5 MB.",
        f"mnistcore: {fifo}: This is not a regular file (a folder, device or pipe), so it is not read.",
    ]
    assert peak < 2500, f"peak memory {peak:.0f} MB"  # reading the file took 3.7 GB


def test_teacher_prints_the_link_with_the_key_the_page_accepts(tmp_path, capsys, monkeypatch):
    from mnistcore.teacher_key import is_teacher, teacher_key

    monkeypatch.setenv("MNISTCORE_RUNS", str(tmp_path))
    monkeypatch.delenv("MNISTCORE_TEACHER_KEY", raising=False)
    code, out, _ = run(capsys, "teacher", "--port", "8600")
    assert code == 0
    link = re.search(r"http://localhost:8600/teacher\?key=(\S+)", out)
    assert link is not None, out
    assert is_teacher(link.group(1), teacher_key(tmp_path))
    assert run(capsys, "teacher", "--port", "8600")[1] == out  # the same key at the next start
