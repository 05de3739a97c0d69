"""What a finished run showed, said in numbers, as a teacher would sum it up for the class:
"Without dropout the validation loss was lowest at epoch 4 and rose 60% by epoch 25; with
dropout 0.5 it stayed within 5% of its lowest." And what would surprise a student, explained."""

from __future__ import annotations

OVERFIT_RISE = 0.10  # a validation loss this far above its lowest has turned up, not wobbled


def _run_sentence(label: str, rows: list[dict], first: bool) -> str | None:
    if len(rows) < 2:
        return None
    best = min(rows, key=lambda r: r["val_loss"])
    last = rows[-1]
    rise = (last["val_loss"] - best["val_loss"]) / best["val_loss"]
    subject = f"{label[0].upper()}{label[1:]} the validation loss" if first else f"{label} it"
    if best is last:
        return f"{subject} was still falling at epoch {last['epoch']}, where it was lowest ({best['val_loss']:.3f})"
    if rise >= OVERFIT_RISE:
        return (
            f"{subject} was lowest at epoch {best['epoch']} ({best['val_loss']:.3f}) and rose {rise:.0%} by epoch "
            f"{last['epoch']}"
        )
    return (
        f"{subject} stayed within {max(rise, 0.01):.0%} of its lowest ({best['val_loss']:.3f} at epoch {best['epoch']})"
    )


def what_happened(runs: list[tuple[str, list[dict], float]]) -> list[str]:
    """Sentences for finished runs, each given as (label, epoch rows, dropout): first what the
    validation loss did, then anything a student would not expect."""
    parts = [s for i, (label, rows, _) in enumerate(runs) if (s := _run_sentence(label, rows, first=i == 0))]
    said = ["; ".join(parts) + "."] if parts else []
    for label, rows, dropout in runs:
        if dropout and rows and rows[-1]["train_loss"] > rows[-1]["val_loss"]:
            said.append(
                f"The run {label} has its training loss above its validation loss. That is expected: the "
                f"training loss is measured with {dropout:.0%} of the units switched off, the validation loss "
                f"with all of them on."
            )
    return said
