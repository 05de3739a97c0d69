"""The sentence a finished run ends with: what the validation loss did, in numbers."""

from mnistcore.lesson import what_happened


def rows(val_losses, train_losses=None):
    train_losses = train_losses or [v * 0.5 for v in val_losses]
    pairs = zip(val_losses, train_losses, strict=True)
    return [{"epoch": i + 1, "val_loss": v, "train_loss": t} for i, (v, t) in enumerate(pairs)]


def test_an_overfit_run_and_a_held_run_are_told_apart_in_numbers():
    overfit = rows([0.50, 0.40, 0.35, 0.30, 0.36, 0.42, 0.48])
    held = rows([0.50, 0.42, 0.36, 0.33, 0.32, 0.325, 0.33])
    said = what_happened([("without dropout", overfit, 0.0), ("with dropout 0.5", held, 0.5)])
    assert said[0] == (
        "Without dropout the validation loss was lowest at epoch 4 (0.300) and rose 60% by epoch 7; "
        "with dropout 0.5 it stayed within 3% of its lowest (0.320 at epoch 5)."
    )


def test_a_run_still_improving_at_its_last_epoch_says_so():
    said = what_happened([("without dropout", rows([0.5, 0.4, 0.3]), 0.0)])
    assert said == ["Without dropout the validation loss was still falling at epoch 3, where it was lowest (0.300)."]


def test_a_dropout_run_whose_training_loss_is_above_its_validation_loss_is_explained():
    above = rows([0.40, 0.35, 0.30], train_losses=[0.6, 0.5, 0.45])
    said = what_happened([("with dropout 0.5", above, 0.5)])
    assert len(said) == 2
    assert "50% of the units switched off" in said[1]
    # Without dropout the same numbers need no such note.
    assert len(what_happened([("without dropout", above, 0.0)])) == 1


def test_runs_with_fewer_than_two_epochs_say_nothing():
    assert what_happened([("without dropout", rows([0.5]), 0.0)]) == []
    assert what_happened([]) == []
