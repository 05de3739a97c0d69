"""Every path the app uses (the repository, the data, the runs, the saved models) and every
limit a teacher can change, from the environment (``MNISTCORE_*``), checked as it is read: a
bad value is reported naming the variable (on every page, and by the CLI), rather than
surfacing later as a strange failure. The CLI, the workers and the pages all ask here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import MnistcoreError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "checkpoints"


def _whole_number(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise MnistcoreError(f"{name} must be a whole number from {low} to {high}, not {raw!r}.")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    runs_dir: Path
    max_running: int  # runs training at once
    max_run_minutes: int  # a run expected to take longer is refused; one that does is stopped
    saved_per_student: int  # models one student may keep saved
    runs_kept_per_student: int  # a student's newest runs keep their weights (to save); older keep curves
    queued_per_student: int = 3
    queued_total: int = 60
    ray_address: str | None = None  # a Ray cluster to train on; None: this machine's own workers
    # For tests that must see a run still training however fast the machine is (see hold.py).
    hold_file: Path | None = None

    @property
    def history_path(self) -> Path:
        return self.runs_dir / "history.sqlite"

    @property
    def models_dir(self) -> Path:
        """Every run's best weights, ``run-<id>.pt``."""
        return self.runs_dir / "models"

    @property
    def saved_dir(self) -> Path:
        """Saved models, one folder each."""
        return self.runs_dir / "saved"

    @property
    def threads_per_run(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.max_running)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        half_the_cores = max(1, (os.cpu_count() or 1) // 2)  # runs of two threads train fastest here
        return cls(
            data_dir=Path(env.get("MNISTCORE_DATA") or ROOT / "data"),
            runs_dir=Path(env.get("MNISTCORE_RUNS") or ROOT / "runs"),
            max_running=_whole_number(env, "MNISTCORE_MAX_RUNS", half_the_cores, 1, 64),
            max_run_minutes=_whole_number(env, "MNISTCORE_MAX_RUN_MINUTES", 10, 1, 24 * 60),
            saved_per_student=_whole_number(env, "MNISTCORE_SAVED_PER_STUDENT", 10, 0, 1000),
            runs_kept_per_student=_whole_number(env, "MNISTCORE_RUNS_KEPT_PER_STUDENT", 20, 1, 10_000),
            ray_address=env.get("MNISTCORE_RAY_ADDRESS", "").strip() or None,
            hold_file=Path(env["MNISTCORE_HOLD_FILE"]) if env.get("MNISTCORE_HOLD_FILE", "").strip() else None,
        )
