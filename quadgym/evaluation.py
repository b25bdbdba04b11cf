"""Scoring controllers on the drone tasks: seeded episodes, each task's own metrics, intervals.

A *controller* is anything with ``reset()`` and ``act(observation, deterministic=True)``:
every algorithm plugin, or a user's own class. :func:`load_controller` builds one from
a spec: a plugin name that needs no training (``pid``), a run directory written by
``scripts/train.py`` (its last checkpoint), or ``"package.module:Class"`` (built as
``Class(env)``). :func:`score` flies it through seeded episodes; each episode's metrics
come from the env's task (``task.summarize``), so a new task brings its own metrics and
``task.metric_goals`` says which way each is better.
"""

from __future__ import annotations

import importlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import quadgym
from quadgym.stats import t_interval


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and 95 % t half-width of the finite ``values`` (NaN where undefined)."""
    mean, low, high = t_interval(values)
    return mean, (high - low) / 2


@dataclass
class Episode:
    """One scored episode: its seed, the task's metrics and the drone's path (m)."""

    seed: int
    metrics: dict[str, float]
    path: np.ndarray = field(repr=False)
    goals: np.ndarray = field(repr=False)


def controller_problem(spec: str) -> str | None:
    """Why ``spec`` names no controller (see the module docstring), or None: checked
    before any episode is flown."""
    if Path(spec, "state.json").is_file():
        if not Path(spec, "checkpoint.bin").is_file():
            return f"controller {spec!r}: the run has no checkpoint.bin (trained at all?)"
        return None
    if spec in quadgym.list_algos():
        return None
    if ":" in spec:
        module, _, name = spec.partition(":")
        try:
            getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            return f"controller {spec!r}: cannot import it ({exc})"
        return None
    return (
        f"controller {spec!r} is not a plugin ({', '.join(quadgym.list_algos())}), a run "
        "directory (with state.json) or 'package.module:Class'"
    )


def load_controller(spec: str, env: gym.Env) -> Any:
    """The controller ``spec`` names, for ``env`` (see the module docstring).

    Raises:
        ValueError: a run directory of another env, a plugin that does not support
            the env, or a spec that is none of the three kinds.
    """
    env_id = env.spec.id if env.spec is not None else None
    if Path(spec, "state.json").is_file():
        state = json.loads(Path(spec, "state.json").read_text())
        if state["env"] != env_id:
            raise ValueError(f"run {spec} was trained on {state['env']}, not {env_id}")
        algo = quadgym.make_algo(state["algo"], state["env"], **state["config"])
        algo.load(Path(spec, "checkpoint.bin"))
        return _fitting(spec, algo, env)
    if ":" in spec:
        module, _, name = spec.partition(":")
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"controller {spec!r}: cannot import it ({exc})") from None
        return cls(env)
    if spec in quadgym.list_algos():
        return _fitting(spec, quadgym.make_algo(spec, env), env)
    raise ValueError(
        f"controller {spec!r} is not a plugin ({', '.join(quadgym.list_algos())}), a run "
        "directory (with state.json) or 'package.module:Class'"
    )


def _fitting(spec: str, algo: Any, env: gym.Env) -> Any:
    """``algo`` if it acts in ``env``'s action space.

    Raises:
        ValueError: naming both spaces (e.g. a run trained with other action types).
    """
    own = getattr(getattr(algo, "env", None), "action_space", None)
    if own is not None and own.shape != env.action_space.shape:
        raise ValueError(
            f"controller {spec!r} acts in {own}, the task in {env.action_space} (trained "
            "with other env arguments?)"
        )
    return algo


def score(env: gym.Env, controller: Any, seeds: list[int]) -> list[Episode]:
    """Fly ``controller`` through one episode per seed (deterministic actions) on
    ``env`` and score each with the env's task."""
    task = env.unwrapped.task
    out = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        controller.reset()
        infos, path, goals = [], [], []
        while True:
            obs, _, term, trunc, info = env.step(controller.act(obs, deterministic=True))
            infos.append(info)
            path.append(env.unwrapped.world.get_state().pos[0].copy())
            goals.append(env.unwrapped.goal[0])
            if term or trunc:
                break
        out.append(Episode(seed, task.summarize(infos), np.array(path), np.array(goals)))
    return out


def _score_job(env_id: str, perturb: str | None, spec: str, seeds: list[int]) -> list[Episode]:
    """One worker's share: build the env and the controller in this process, fly ``seeds``."""
    env = gym.make(env_id, perturb=perturb)
    try:
        return score(env, load_controller(spec, env), seeds)
    finally:
        env.close()


def score_many(
    env_id: str, spec: str, seeds: list[int], perturb: str | None = None, workers: int = 1
) -> list[Episode]:
    """:func:`score` of the controller ``spec`` on ``env_id`` (with ``perturb``), the seeds
    split over ``workers`` processes (each builds its own PyBullet world and controller;
    spawned, so no client is shared). Episodes come back in seed order, and each is the
    same as a sequential run's: every episode is seeded and the controller reset.

    Raises:
        ValueError: the controller cannot fly the env (see :func:`load_controller`).
    """
    if workers <= 1 or len(seeds) < 2:
        return _score_job(env_id, perturb, spec, seeds)
    import concurrent.futures
    import multiprocessing

    chunks = [seeds[i::workers] for i in range(workers) if seeds[i::workers]]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(len(chunks), mp_context=context) as pool:
        jobs = [pool.submit(_score_job, env_id, perturb, spec, c) for c in chunks]
        parts = [job.result() for job in jobs]
    by_seed = {e.seed: e for part in parts for e in part}
    return [by_seed[seed] for seed in seeds]


def best(goal: str | None, means: dict[str, float]) -> set[str]:
    """The labels whose mean is the best by ``goal`` ("min"/"max"); none for None."""
    finite = {k: v for k, v in means.items() if math.isfinite(v)}
    if goal is None or not finite:
        return set()
    top = (min if goal == "min" else max)(finite.values())
    return {k for k, v in finite.items() if v == top}
