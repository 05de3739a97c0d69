import pytest

from mnistcore.cli import main


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, says", [
    (["train", "--epochs", "0"], "epochs must be between 1 and 500"),
    (["train", "--lr", "-1"], "learning rate must be above 0"),
    (["train", "--dropout", "1.5"], "dropout must be at least 0 and below 1"),
    (["train", "--arch", "resnet"], "invalid choice: 'resnet'"),
    (["train", "--epochs", "many"], "invalid int value: 'many'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["evaluate", "missing.pt"], "Checkpoint missing.pt does not exist."),
    (["predict", "missing.pt", "x.png"], "Checkpoint missing.pt does not exist."),
    (["data", "cifar"], "Unknown dataset 'cifar'"),
])
def test_bad_arguments_and_missing_files_get_one_line_and_a_nonzero_exit(capsys, argv, says):
    code, out, err = run(capsys, *argv)
    assert code != 0
    assert says in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
