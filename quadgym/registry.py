"""The one table of names: environment ids, PettingZoo environments, algorithm plugins.

``register_envs()`` runs at ``import quadgym`` and registers every environment
id with Gymnasium. Algorithm plugins are found through the ``quadgym.algos``
entry-point group, so another installed package can add one without editing
this repository; quadgym's own are declared in ``setup.cfg``.
"""

from __future__ import annotations

import contextlib
import importlib
from importlib.metadata import entry_points
from typing import Any

import gymnasium as gym

#: Gymnasium ids quadgym provides, with their entry points and keyword defaults.
ENV_SPECS: dict[str, dict[str, Any]] = {
    "QuadHover-v0": {
        "entry_point": "quadgym.envs.quad.single:QuadHoverEnv",
        "vector_entry_point": "quadgym.envs.quad.vector:QuadHoverVectorEnv",
    },
    "QuadTrack-v0": {
        "entry_point": "quadgym.envs.quad.single:QuadHoverEnv",
        "vector_entry_point": "quadgym.envs.quad.vector:QuadHoverVectorEnv",
        "kwargs": {"task": "track"},
    },
    "QuadLand-v0": {
        "entry_point": "quadgym.envs.quad.single:QuadHoverEnv",
        "vector_entry_point": "quadgym.envs.quad.vector:QuadHoverVectorEnv",
        "kwargs": {"task": "land"},
    },
    "QuadGates-v0": {
        "entry_point": "quadgym.envs.quad.single:QuadHoverEnv",
        "kwargs": {"task": "gates", "episode_seconds": 15.0},
    },
    "QuadVisualReach-v0": {
        "entry_point": "quadgym.envs.quad.single:QuadHoverEnv",
        "kwargs": {
            "task": "visual_reach",
            "obs_type": "kin+rgb",
            "action_type": "pid",
            "control_hz": 15,
            "episode_seconds": 4.0,
        },
    },
    "CoPGBandit-v0": {"entry_point": "quadgym.envs.bandit:CoPGBanditEnv"},
    "CoPGSequence-v0": {"entry_point": "quadgym.envs.bandit:CoPGSequenceEnv"},
    "PreferenceToy-v0": {"entry_point": "quadgym.envs.preference:PreferenceToyEnv"},
    "PreferenceTokens-v0": {"entry_point": "quadgym.envs.preference_tokens:PreferenceTokensEnv"},
    "HardShift-v0": {"entry_point": "quadgym.envs.hard.env:HardShiftEnv"},
    "ToyCoding-v0": {"entry_point": "quadgym.envs.coding:ToyCodingEnv"},
}

#: PettingZoo environments: name -> module following the env()/parallel_env() convention.
PARALLEL_ENVS = {
    name: f"quadgym.envs.{name}"
    for name in ("quad_swarm_v0", "quad_swap_v0", "quad_reform_v0", "quad_leader_v0")
}

ALGO_GROUP = "quadgym.algos"


def register_envs() -> None:
    """Register every quadgym id with Gymnasium (idempotent)."""
    for env_id, spec in ENV_SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, **spec)


def list_envs() -> list[str]:
    """The Gymnasium ids quadgym registers."""
    return list(ENV_SPECS)


def list_parallel_envs() -> list[str]:
    """Names of quadgym's PettingZoo environments."""
    return list(PARALLEL_ENVS)


def make_parallel_env(name: str, **kwargs: Any):
    """The PettingZoo ``ParallelEnv`` called ``name``.

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    if name not in PARALLEL_ENVS:
        raise ValueError(
            f"unknown parallel environment {name!r}; quadgym provides: {', '.join(PARALLEL_ENVS)}"
        )
    return importlib.import_module(PARALLEL_ENVS[name]).parallel_env(**kwargs)


def _algo_entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ALGO_GROUP)}


def list_algos() -> list[str]:
    """Names of every installed algorithm plugin (quadgym's and other packages')."""
    return sorted(_algo_entry_points())


def get_algo_class(name: str) -> type:
    """The plugin class registered under ``name``.

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    eps = _algo_entry_points()
    if name not in eps:
        raise ValueError(f"unknown algorithm {name!r}; installed: {', '.join(sorted(eps))}")
    return eps[name].load()


def describe_algo(name: str) -> str:
    """A plugin's budget unit and typed config as a text table (name, type, default, doc)."""
    cls = get_algo_class(name)
    rows = cls.Config.describe()
    width = max(len(r[0]) for r in rows)
    lines = [f"{name}: budget in {cls.budget_unit.value}; config:"]
    lines += [f"  {n:<{width}}  {t} = {d}  {doc}" for n, t, d, doc in rows]
    return "\n".join(lines)


def make_algo(name: str, env: Any, **config: Any):
    """Build the plugin ``name`` for ``env`` (an env id or a ``gymnasium.Env``).

    ``config`` is checked against the plugin's typed ``Config`` before anything is
    built, and the env against the capabilities the plugin requires.

    Raises:
        ValueError: unknown algorithm or env, a pair the plugin does not support
            (the message lists what it supports, or the capability the env lacks),
            an unknown config key (with the closest allowed one) or a value out of range.
        TypeError: a config value of the wrong type (the message names the field).
    """
    cls = get_algo_class(name)
    env_id = env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", None)
    if isinstance(env, str) and env not in gym.registry and env not in PARALLEL_ENVS:
        raise ValueError(
            f"unknown environment {env!r}; quadgym provides: "
            f"{', '.join(list_envs() + list_parallel_envs())}"
        )
    if not cls.supports(env_id):
        raise ValueError(
            f"algorithm {name!r} does not support environment {env_id!r}; it supports: "
            f"{', '.join(cls.supported_envs)}"
        )
    cls.make_config(config)  # refuse a bad config before an env is built
    algo = cls.__new__(cls)
    try:
        algo.__init__(env, **config)
    except BaseException:
        # A plugin that fails after building envs (SB3 refusing a value, say) releases
        # them now: every env-like attribute (one with step() and close()) but the
        # caller's own env. Each PyBullet copy holds a client of ~28 MiB.
        for value in vars(algo).values():
            made = value is not env and callable(getattr(value, "step", None))
            if made and callable(getattr(value, "close", None)):
                with contextlib.suppress(Exception):  # the plugin's error is the one to see
                    value.close()
        raise
    return algo
