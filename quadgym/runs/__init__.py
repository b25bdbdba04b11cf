"""The one owner of a training run's directory: :class:`Run` (``state.json``,
``checkpoint.bin``, written checkpoint-then-state; :mod:`quadgym.runs.directory`) and
:class:`RunLog` (``metrics.csv`` and TensorBoard; :mod:`quadgym.runs.log`)."""

from quadgym.runs.directory import CHECKPOINT, STATE, STATE_KEYS, Run, RunError
from quadgym.runs.log import RunLog

__all__ = ["CHECKPOINT", "STATE", "STATE_KEYS", "Run", "RunError", "RunLog"]
