"""The one owner of a training run's directory: :class:`Run` (``state.json``,
``checkpoint.bin``, written checkpoint-then-state; :mod:`quadgym.runs.directory`) and
:class:`RunLog` (``metrics.csv`` and TensorBoard; :mod:`quadgym.runs.log`), :class:`DirRun`
(a run whose checkpoint is a directory: RLlib's), and loading a run for evaluation
(:mod:`quadgym.runs.load`)."""

from quadgym.runs.directory import (
    CHECKPOINT,
    STATE,
    STATE_KEYS,
    DirRun,
    Run,
    RunError,
    new_run_problem,
)
from quadgym.runs.log import RunLog

__all__ = [
    "CHECKPOINT",
    "STATE",
    "STATE_KEYS",
    "DirRun",
    "Run",
    "RunError",
    "RunLog",
    "new_run_problem",
]
