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
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quadgym.agents.base import Algorithm
from quadgym.files import atomic_write_bytes
from quadgym.outdir import out_problem
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
    #: the chunk size the run was last trained with (a checkpoint is at most one ahead)
    chunk: int = 0

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
            RunError: ``path`` is a file, holds a run, is a non-empty directory (a new
                run never appends to an old one's files) or cannot be written.
        """
        path = Path(path)
        problem = new_run_problem(path)
        if problem:
            raise RunError(problem)
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
        state = read_state(path)
        missing = [k for k in STATE_KEYS if not isinstance(state, dict) or k not in state]
        if missing:
            raise RunError(f"{path / STATE} lacks {', '.join(missing)}; is it a run's state?")
        state.setdefault("resumes", [])
        state.setdefault("threads", 1)
        problem = state_problem(state)
        if problem:
            raise RunError(f"{path / STATE} field {problem}")
        return cls(path, state, chunk=state["checkpoint_every"])

    def extend(
        self, total: int | None, checkpoint_every: int | None, threads: int | None = None
    ) -> None:
        """Apply the overrides ``--resume`` allows (a new total, chunk size or thread
        count; None keeps the run's) and record them in the state's ``resumes``."""
        asked = {"total": total, "checkpoint_every": checkpoint_every, "threads": threads}
        changes = {k: int(v) for k, v in asked.items() if v is not None and v != self.state[k]}
        if changes.get("total", self.state["total"]) < self.state["done"]:
            raise RunError(
                f"--steps {total} is below the {self.state['done']} this run has done; "
                f"a resume continues a run, it cannot shorten it"
            )
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
        remove_temporaries(self.path)
        if self.checkpoint.exists():
            algo.load(self.checkpoint)
            if algo.progress < done:
                raise RunError(
                    f"{self.checkpoint} holds {algo.progress} of the budget but {STATE} says "
                    f"{done}: the checkpoint is older than the state, which no crash leaves; "
                    f"refusing to guess which is right"
                )
            chunk = self.chunk or int(self.state["checkpoint_every"])
            if algo.progress > done + chunk:
                raise RunError(
                    f"{self.checkpoint} holds {algo.progress} of the budget but {STATE} says "
                    f"{done} and a chunk is {chunk}: more than a chunk ahead, which no crash "
                    f"leaves (a checkpoint of another run?); refusing to continue from it"
                )
            # the whole typed config but the budget a resume may change (``horizon``)
            wanted = {k: v for k, v in algo.config.to_dict().items() if k != "horizon"}
            other = config_difference(wanted, stamped_config(algo, self.checkpoint))
            if other:
                raise RunError(
                    f"{self.checkpoint} was trained with {other}, not as {STATE} says: "
                    f"a checkpoint of another run; refusing to continue from it"
                )
        elif done:
            raise RunError(
                f"{self.path / STATE} says {done} done but {CHECKPOINT} is missing; "
                f"refusing to retrain from scratch under the same state"
            )
        # at most a chunk ahead: killed between the checkpoint and the state write
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


def read_state(path: Path) -> Any:
    """The JSON of ``path``'s state.json.

    Raises:
        RunError: there is none, or it is not readable JSON.
    """
    try:
        return json.loads((path / STATE).read_text())
    except FileNotFoundError:
        raise RunError(f"--resume {path}: no {STATE} there; is it a run directory?") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path / STATE} is not readable: {exc}") from None


def _count(value: Any, least: int) -> bool:
    """An int (not a bool) of at least ``least``: JSON's 2.5, "one", Infinity are not."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def state_problem(state: dict[str, Any], present_only: bool = False) -> str | None:
    """The first field of a run's state that is not what :meth:`Run.plan` writes, as
    "NAME is invalid: VALUE (what it must be)", or None (a field absent is not judged
    here: :meth:`Run.open` requires its keys, evaluation only env, algo and config)."""
    rules = [
        ("env", lambda v: isinstance(v, str) and v, "an env id"),
        ("algo", lambda v: isinstance(v, str) and v, "a plugin name"),
        ("config", lambda v: isinstance(v, dict), "a mapping of config keys"),
        ("done", lambda v: _count(v, 0), "an integer >= 0"),
        ("total", lambda v: _count(v, 1), "an integer >= 1"),
        ("checkpoint_every", lambda v: _count(v, 1), "an integer >= 1"),
        ("threads", lambda v: _count(v, 1), "an integer >= 1"),
        ("resumes", lambda v: isinstance(v, list), "a list"),
    ]
    for name, ok, want in rules:
        if name in state and not ok(state[name]):
            return f"{name} is invalid: {state[name]!r} (must be {want})"
    return None


def stamped_config(algo: Algorithm, path: Path) -> dict[str, Any] | None:
    """The typed config a checkpoint was written with, where its format records one (the
    torch-based plugins': ``agents.checkpoint.read_checkpoint``'s ``"config"``, JSON of
    ``algo.config.to_dict()``); None for a format without it.

    The one place a run reads what a checkpoint stores besides the plugin's own state."""
    from quadgym.agents.checkpoint import read_checkpoint

    try:
        stamped = read_checkpoint(algo, path).get("config")
        return json.loads(stamped) if isinstance(stamped, str) else None
    except (ValueError, AttributeError):  # not that format (SB3's zip, a JSON state)
        return None


def config_difference(wanted: dict[str, Any], stamped: dict[str, Any] | None) -> str | None:
    """The keys of the run's config a checkpoint's config contradicts ("lr 0.1, seed 3"),
    or None (nothing contradicts, or the checkpoint records no config)."""
    if stamped is None:
        return None

    def plain(value: Any) -> Any:  # as the checkpoint holds it: JSON, tuples as lists
        return json.loads(json.dumps(value, default=str))

    other = [
        f"{key} {stamped[key]!r}"
        for key, value in wanted.items()
        if key in stamped and plain(value) != stamped[key]
    ]
    return ", ".join(other) or None


def new_run_problem(path: str | Path, flag: str = "--out") -> str | None:
    """Why ``path`` cannot hold a new run (a file, a run already, not empty, not
    writable), or None: a new run never appends to an old one's files."""
    path = Path(path)
    problem = out_problem(path, flag)
    if problem:
        return problem
    if (path / STATE).exists():
        return f"{flag} {path} already holds a run; use --resume {path} or another {flag}"
    if path.is_dir() and any(path.iterdir()):
        return f"{flag} {path} is not empty; a new run needs a new or empty directory"
    return None


def remove_temporaries(path: Path) -> None:
    """Delete the temporary files of writes a kill interrupted (``.NAME.XXXX.tmp``, from
    ``atomic_write_bytes``): no reader ever takes them for the file they were to become."""
    for tmp in path.glob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink()


class DirRun:
    """A run whose checkpoint is a directory (RLlib's ``save_to_path``), in ``path``:
    ``state.json`` (the run's arguments, ``position`` -- the iteration the checkpoint holds
    -- and ``checkpoint``, its directory's name), ``checkpoint-<position>/`` and a link
    ``checkpoint`` to it.

    A checkpoint is saved whole into a directory of its own before ``state.json`` names it
    (atomically), then the link moves (atomically), then older checkpoints go. A kill at
    any moment leaves ``state.json`` naming a whole checkpoint (or none, at position 0);
    :meth:`reopen` removes what a kill left half-done and points the link again.
    """

    def __init__(self, path: str | Path, state: dict[str, Any]) -> None:
        self.path = Path(path)
        self.state = state

    @classmethod
    def create(cls, path: str | Path, args: dict[str, Any]) -> DirRun:
        """A new run in ``path`` (refused as :func:`new_run_problem` says), its state
        written at once: a kill from here on leaves a run ``--resume`` continues."""
        problem = new_run_problem(path)
        if problem:
            raise RunError(problem)
        run = cls(path, {"args": args, "position": 0, "checkpoint": None, "resumes": []})
        run.path.mkdir(parents=True, exist_ok=True)
        run.write_state()
        return run

    @classmethod
    def reopen(cls, path: str | Path) -> DirRun:
        """The run saved in ``path``, tidied after a kill.

        Raises:
            RunError: no readable state, or one naming a checkpoint that is not there.
        """
        path = Path(path)
        state = read_state(path)
        if not isinstance(state, dict) or not isinstance(state.get("args"), dict):
            raise RunError(f"{path / STATE} field args is missing or not a mapping")
        position, name = state.get("position"), state.get("checkpoint")
        if not (isinstance(position, int) and not isinstance(position, bool) and position >= 0):
            raise RunError(f"{path / STATE} field position is invalid: {position!r}")
        if name is not None and not (isinstance(name, str) and (path / name).is_dir()):
            raise RunError(f"{path / STATE} names checkpoint {name!r}, which is not there")
        state.setdefault("resumes", [])
        run = cls(path, state)
        run.tidy()
        return run

    @property
    def checkpoint(self) -> Path | None:
        """The directory of the last whole checkpoint (None: none yet)."""
        return self.path / self.state["checkpoint"] if self.state["checkpoint"] else None

    def write_state(self) -> None:
        atomic_write_bytes(self.path / STATE, json.dumps(self.state, indent=1).encode())

    def commit(self, position: int, save: Callable[[Path], None]) -> None:
        """``save(directory)`` a checkpoint at ``position``, then name it in the state."""
        name = f"checkpoint-{position:06d}"
        shutil.rmtree(self.path / name, ignore_errors=True)  # a half-saved one, from a kill
        save(self.path / name)
        self.state.update(position=position, checkpoint=name)
        self.write_state()
        self.tidy()

    def tidy(self) -> None:
        """Point the ``checkpoint`` link at the state's checkpoint; remove every other
        checkpoint directory and the temporary files of interrupted writes."""
        link = self.path / "checkpoint"
        name = self.state["checkpoint"]
        if name and not (link.is_symlink() and os.readlink(link) == name):
            tmp = self.path / ".checkpoint.link.tmp"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(name)
            os.replace(tmp, link)
        for old in self.path.glob("checkpoint-*"):
            if old.name != name:
                shutil.rmtree(old)
        remove_temporaries(self.path)
