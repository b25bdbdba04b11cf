"""A training run's directory, kept consistent across crashes: one owner of its files.

    run_dir/
      state.json       env, algo, typed config, budget total, chunk size, torch threads,
                       progress ("done"), the overrides of each resume
      checkpoint.bin   the plugin's state, carrying its own progress (``Algorithm.progress``)
      metrics.csv, tb/ one row / event per record, at its budget position (``runlog.RunLog``)

Every file is written atomically (a temporary file and a rename), in one order:
the checkpoint, then ``state.json``. A kill at any moment therefore leaves one of
three states, each of which :meth:`Run.restore` handles:

- no checkpoint and ``done == 0``: killed before the first chunk ended; the run
  starts from scratch (rows already logged are dropped);
- the checkpoint at ``done``: the last chunk ended cleanly;
- the checkpoint one chunk ahead of ``done``: killed between the two writes; the
  checkpoint is the newer truth and the state is brought up to it.

Anything else (a checkpoint behind the state, a missing checkpoint after progress,
a checkpoint of another plugin or env) is refused with a :class:`RunError` that
says what disagrees, rather than silently retraining or double counting. Rows
logged after the checkpoint (by a run killed mid-chunk) are dropped on resume, so
``metrics.csv`` and TensorBoard hold each position once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quadgym.agents.base import Algorithm
from quadgym.files import atomic_write_bytes
from quadgym.runs.log import RunLog

STATE = "state.json"
CHECKPOINT = "checkpoint.bin"
#: keys every state.json has
STATE_KEYS = ("env", "algo", "config", "done", "total", "checkpoint_every")  # + threads, resumes


class RunError(ValueError):
    """A run directory that cannot be created or continued as asked."""


@dataclass
class Run:
    """The run directory ``path`` and its state (the contents of ``state.json``)."""

    path: Path
    state: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ opening
    @classmethod
    def plan(
        cls,
        path: str | Path,
        env: str,
        algo: str,
        config: dict[str, Any],
        total: int,
        checkpoint_every: int,
        threads: int = 1,
    ) -> Run:
        """A new run in ``path`` (nothing written yet: :meth:`start` writes it).

        Raises:
            RunError: ``path`` is a file, holds a run, or is a non-empty directory (a new
                run never appends to an old one's files).
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunError(f"--out {path} is a file, not a directory")
        if (path / STATE).exists():
            raise RunError(
                f"--out {path} already holds a run; use --resume {path} or another --out"
            )
        if path.is_dir() and any(path.iterdir()):
            raise RunError(f"--out {path} is not empty; a new run needs a new or empty directory")
        state = {
            "env": env,
            "algo": algo,
            "config": config,
            "done": 0,
            "total": int(total),
            "checkpoint_every": int(checkpoint_every),
            "threads": int(threads),  # torch threads: they change float rounding
            "resumes": [],
        }
        return cls(path, state)

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """The run saved in ``path``.

        Raises:
            RunError: no readable ``state.json`` there, or one without the run's keys.
        """
        path = Path(path)
        try:
            state = json.loads((path / STATE).read_text())
        except FileNotFoundError:
            raise RunError(f"--resume {path}: no {STATE} there; is it a run directory?") from None
        except (OSError, ValueError) as exc:
            raise RunError(f"{path / STATE} is not readable: {exc}") from None
        missing = [k for k in STATE_KEYS if not isinstance(state, dict) or k not in state]
        if missing:
            raise RunError(f"{path / STATE} lacks {', '.join(missing)}; is it a run's state?")
        state.setdefault("resumes", [])
        state.setdefault("threads", 1)
        return cls(path, state)

    def extend(
        self, total: int | None, checkpoint_every: int | None, threads: int | None = None
    ) -> None:
        """Apply the overrides ``--resume`` allows (a new total, chunk size or thread
        count; None keeps the run's) and record them in the state's ``resumes``."""
        asked = {"total": total, "checkpoint_every": checkpoint_every, "threads": threads}
        changes = {k: int(v) for k, v in asked.items() if v is not None and v != self.state[k]}
        self.state.update(changes)
        self.state["resumes"].append({"at": self.state["done"], **changes})

    # ------------------------------------------------------------ writing
    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    def start(self) -> None:
        """Create the directory and write the initial state (after the plugin is built)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_state()

    def write_state(self) -> None:
        atomic_write_bytes(self.path / STATE, json.dumps(self.state, indent=1).encode())

    def restore(self, algo: Algorithm) -> int:
        """Load the checkpoint into ``algo`` and reconcile the state with it; returns the
        position training continues from.

        Raises:
            RunError: the state and the checkpoint disagree in a way no crash explains.
            ValueError: the checkpoint is unreadable or another plugin's (from ``load``).
        """
        done = int(self.state["done"])
        if self.checkpoint.exists():
            algo.load(self.checkpoint)
            if algo.progress < done:
                raise RunError(
                    f"{self.checkpoint} holds {algo.progress} of the budget but {STATE} says "
                    f"{done}: the checkpoint is older than the state, which no crash leaves; "
                    f"refusing to guess which is right"
                )
        elif done:
            raise RunError(
                f"{self.path / STATE} says {done} done but {CHECKPOINT} is missing; "
                f"refusing to retrain from scratch under the same state"
            )
        # ahead by a chunk: killed between the checkpoint and the state write
        self.state["done"] = algo.progress
        self.write_state()
        return algo.progress

    def commit(self, algo: Algorithm) -> None:
        """Save the checkpoint, then the state (each atomically): a kill between the two
        leaves the checkpoint ahead, which :meth:`restore` accepts."""
        algo.save(self.checkpoint)
        self.state["done"] = algo.progress
        self.write_state()

    def log(self) -> RunLog:
        """The metrics log, reopened at the current position (later rows dropped)."""
        return RunLog(self.path, position=int(self.state["done"]))
