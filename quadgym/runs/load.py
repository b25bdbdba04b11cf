"""Loading a run directory for evaluation: the one place that knows which files make a
run (``state.json``, ``checkpoint.bin``) outside training itself. Every check reads the
files without running anything in them (:func:`~quadgym.agents.checkpoint.load_plain`),
before any env or plugin is built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import quadgym
from quadgym.agents.checkpoint import load_plain
from quadgym.runs import directory
from quadgym.runs.directory import CHECKPOINT, STATE


def is_run(path: str | Path) -> bool:
    """Whether ``path`` is meant as a run directory (it has a ``state.json``)."""
    return Path(path, STATE).is_file()


def run_problem(path: str | Path) -> str | None:
    """Why ``path`` is not a loadable run directory (no state or checkpoint, a state that
    is not JSON naming env, algo and config, or a checkpoint that is unreadable or would
    run code), or None if it is."""
    run = Path(path)
    if not is_run(run):
        return f"{run} has no {STATE}; is it a run directory?"
    if not (run / CHECKPOINT).is_file():
        return f"the run {run} has no {CHECKPOINT} (trained at all?)"
    try:
        state = read_state(run)
        load_plain(run / CHECKPOINT)
    except (OSError, ValueError) as exc:
        return str(exc)
    del state
    return None


def read_state(path: str | Path) -> dict[str, Any]:
    """The run's ``state.json`` (env, algo, config, ...), for evaluation: only the entries
    that name the plugin and its env are required (a run being written has the rest).

    Raises:
        ValueError: missing, not JSON, not an object, or without env, algo and config.
    """
    state = directory.read_state(Path(path))
    file = Path(path, STATE)
    if not isinstance(state, dict):
        raise ValueError(f"{file} holds a JSON {type(state).__name__}, not an object")
    missing = [k for k in ("env", "algo", "config") if k not in state]
    if missing:
        raise ValueError(f"{file} lacks {', '.join(missing)}")
    problem = directory.state_problem(state)
    if problem:
        raise ValueError(f"{file} field {problem}")
    return state


def load_run(path: str | Path) -> tuple[dict[str, Any], Any]:
    """The saved state (env, algo, config) of a run directory and its plugin at the last
    checkpoint (built from the state's config, then filled from the checkpoint)."""
    run = Path(path)
    state = read_state(run)
    algo = quadgym.make_algo(state["algo"], state["env"], **state["config"])
    try:
        algo.load(run / CHECKPOINT)
    except BaseException:
        if hasattr(algo, "close"):
            algo.close()
        raise
    return state, algo
