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
import math
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

import quadgym
from quadgym.agents.base import INTERFACE_KEYS
from quadgym.registry import PARALLEL_ENVS, base_id, get_algo_class, make_parallel_env
from quadgym.runs.load import is_run, load_run, read_state, run_problem
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
    if is_run(spec):
        problem = run_problem(spec)
        return None if problem is None else f"controller {spec!r}: {problem}"
    if spec in quadgym.list_algos():
        return None
    if ":" in spec:
        module, _, name = spec.partition(":")
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            return f"controller {spec!r}: cannot import it ({exc})"
        missing = [m for m in ("reset", "act") if not callable(getattr(cls, m, None))]
        if not isinstance(cls, type) or missing:
            return (
                f"controller {spec!r} is not a controller class: it must be a class built as "
                f"Class(env) with reset() and act(observation, deterministic=True)"
            )
        return None
    return (
        f"controller {spec!r} is not a plugin ({', '.join(quadgym.list_algos())}), a run "
        "directory (with state.json) or 'package.module:Class'"
    )


def controller_interface(spec: str) -> dict[str, Any]:
    """The env keywords the controller ``spec`` acts through (a run directory: its plugin
    config's ``interface()``, e.g. ``{"action_type": "vel"}``; otherwise {}). The env a
    run is scored on takes them, as the env it trained on had them."""
    if not is_run(spec):
        return {}
    state = read_state(spec)
    return get_algo_class(state["algo"]).make_config(state["config"]).interface()


def interface_conflict(spec: str, env_kwargs: dict[str, Any]) -> str | None:
    """Why ``env_kwargs`` contradict the interface the run ``spec`` was trained through
    (``{'action_type': 'vel'}`` for a run trained on motor speeds), or None: what
    ``_fitting`` refuses once both are built, checked before anything is."""
    keys = [k for k in env_kwargs if k in INTERFACE_KEYS]
    if not keys:
        return None
    own = controller_interface(spec)
    env_id = read_state(spec)["env"]
    clash = []
    for key in keys:
        trained = own[key] if key in own else _env_default(env_id, key)
        if env_kwargs[key] != trained:
            clash.append(f"{key}={env_kwargs[key]!r}, but the run {spec} trained with {trained!r}")
    return "; ".join(clash) or None


def _env_default(env_id: str, key: str) -> Any:
    """The value of the env keyword ``key`` when ``gym.make(env_id)`` is not given it."""
    import dataclasses

    from quadgym.envs.quad.config import QuadConfig

    kwargs = gym.spec(env_id).kwargs if env_id in gym.registry else {}
    if key in kwargs:
        return kwargs[key]
    return {f.name: f.default for f in dataclasses.fields(QuadConfig)}.get(key)


def load_controller(spec: str, env: gym.Env) -> Any:
    """The controller ``spec`` names, for ``env`` (see the module docstring).

    Raises:
        ValueError: a run directory of another env, a plugin that does not support
            the env, or a spec that is none of the three kinds.
    """
    spec_ = getattr(env, "spec", None)
    env_id = base_id(spec_.id) if spec_ is not None else getattr(env, "metadata", {}).get("name")
    if is_run(spec):
        state = read_state(spec)
        if state["env"] != env_id:
            raise ValueError(f"run {spec} was trained on {state['env']}, not {env_id}")
        return _fitting(spec, load_run(spec)[1], env)
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


def is_team(env: Any) -> bool:
    """Whether ``env`` is a PettingZoo ``ParallelEnv`` (one agent per drone)."""
    return hasattr(env, "possible_agents")


def action_space(env: Any) -> Any:
    """``env``'s action space (a PettingZoo env's: its first agent's; they all share it)."""
    if is_team(env):
        return env.action_space(env.possible_agents[0])
    return getattr(env, "action_space", None)


def make_env(env_id: str, **kwargs: Any) -> Any:
    """The env of ``env_id`` with ``kwargs``: ``gym.make``, or a multi-agent id's
    PettingZoo ``ParallelEnv``."""
    if env_id in PARALLEL_ENVS:
        return make_parallel_env(env_id, **kwargs)
    return gym.make(env_id, **kwargs)


def _fitting(spec: str, algo: Any, env: gym.Env) -> Any:
    """``algo`` if it acts in ``env``'s action space, through the same interface keys.

    Raises:
        ValueError: naming both spaces or both values (e.g. a run trained with other
            action types).
    """
    own_env = getattr(algo, "env", None)
    own = None if own_env is None else action_space(own_env)
    if own is not None and own.shape != action_space(env).shape:
        raise ValueError(
            f"controller {spec!r} acts in {own}, the task in {action_space(env)} (trained "
            "with other env arguments?)"
        )
    mine = getattr(getattr(own_env, "unwrapped", None), "config", None)
    theirs = getattr(env.unwrapped, "config", None)
    for key in INTERFACE_KEYS:
        a, b = getattr(mine, key, None), getattr(theirs, key, None)
        if a is not None and b is not None and a != b:
            raise ValueError(
                f"controller {spec!r} acts with {key}={a!r}, the env has {key}={b!r} (build "
                f"it with {controller_interface(spec) or {key: a}})"
            )
    return algo


def score(env: Any, controller: Any, seeds: list[int]) -> list[Episode]:
    """Fly ``controller`` through one episode per seed (deterministic actions) on
    ``env`` and score each with the env's task (a PettingZoo env's by
    ``task.summarize_team``; its path and goals are (steps, drones, 3))."""
    task = env.unwrapped.task
    team = is_team(env)
    out = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        controller.reset()
        infos, path, goals = [], [], []
        while True:
            obs, _, term, trunc, info = env.step(controller.act(obs, deterministic=True))
            infos.append(info)
            path.append(env.unwrapped.world.get_state().pos.copy())
            goals.append(env.unwrapped.goal.copy())
            if not env.agents if team else term or trunc:
                break
        metrics = task.summarize_team(infos) if team else task.summarize(infos)
        path_a, goals_a = np.array(path), np.array(goals)
        if not team:
            path_a, goals_a = path_a[:, 0], goals_a[:, 0]
        out.append(Episode(seed, metrics, path_a, goals_a))
    return out


def _score_job(
    env_id: str, perturb: str | None, spec: str, seeds: list[int], env_kwargs: dict | None = None
) -> list[Episode]:
    """One worker's share: build the env (with ``env_kwargs``, e.g. another
    ``drone_model``) and the controller in this process, fly ``seeds``."""
    env = make_env(env_id, perturb=perturb, **(env_kwargs or {}), **controller_interface(spec))
    try:
        return score(env, load_controller(spec, env), seeds)
    finally:
        env.close()


def process_pool(workers: int) -> Any:
    """A ``ProcessPoolExecutor`` of ``workers`` spawned processes (no PyBullet client or
    torch state is inherited), for :func:`score_many`."""
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(workers, mp_context=context)


def ray_address(address: str | None) -> str:
    """The address ``ray.init`` is given: ``address``, else ``RAY_ADDRESS``, else "local" (a
    new embedded Ray). Not None: Ray would then join whichever cluster it last saw started
    on this machine (its ``ray_current_cluster`` file outlives a killed head node)."""
    import os

    return address or os.environ.get("RAY_ADDRESS") or "local"


#: Where :func:`score_many` runs its shares: spawned local processes, or Ray tasks.
EXECUTORS = ("processes", "ray")


def score_many(
    env_id: str,
    spec: str,
    seeds: list[int],
    perturb: str | None = None,
    workers: int = 1,
    executor: str = "processes",
    pool: Any = None,
    env_kwargs: dict | None = None,
) -> list[Episode]:
    """:func:`score` of the controller ``spec`` on ``env_id`` (with ``perturb`` and further
    ``env_kwargs``, such as a held-out ``drone_model``), the seeds
    split into ``workers`` shares, each flown by a spawned process or a Ray task (each
    builds its own PyBullet world and controller, so no client is shared). Ray: the
    session of this process, or a new one (:func:`ray_address`: the cluster of
    ``RAY_ADDRESS``, else an embedded local one), each task asking for one CPU; a user's
    controller module must be importable there. ``pool``: a ``concurrent.futures`` executor
    of spawned processes to reuse (a caller scoring many controllers saves each call's
    process start, ~3 s with torch); None: one for this call. Episodes come back in seed
    order, and each is the same as a sequential run's: every episode is seeded and the
    controller reset.

    Raises:
        ValueError: the controller cannot fly the env (see :func:`load_controller`), or
            an unknown executor.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; allowed: {', '.join(EXECUTORS)}")
    if workers <= 1 or len(seeds) < 2:
        return _score_job(env_id, perturb, spec, seeds, env_kwargs)
    chunks = [seeds[i::workers] for i in range(workers) if seeds[i::workers]]
    if executor == "ray":
        import ray

        if not ray.is_initialized():
            ray.init(ray_address(None), include_dashboard=False, log_to_driver=False)
        job = ray.remote(num_cpus=1)(_score_job)
        parts = ray.get([job.remote(env_id, perturb, spec, c, env_kwargs) for c in chunks])
    elif pool is not None:
        jobs = [pool.submit(_score_job, env_id, perturb, spec, c, env_kwargs) for c in chunks]
        parts = [job.result() for job in jobs]
    else:
        with process_pool(len(chunks)) as own:
            jobs = [own.submit(_score_job, env_id, perturb, spec, c, env_kwargs) for c in chunks]
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
