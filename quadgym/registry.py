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

from quadgym.envs.quad.tasks.spec import TaskSpec
from quadgym.envs.quad.tasks.suite import SPECS

#: The one-drone face and its batched backend, behind every drone task's id.
SINGLE_ENTRY = "quadgym.envs.quad.single:QuadHoverEnv"
VECTOR_ENTRY = "quadgym.envs.quad.vector:QuadHoverVectorEnv"


def _drone_spec(spec: TaskSpec) -> dict[str, Any]:
    """The Gymnasium registration of a one-drone task's declaration: the single face with
    ``task`` set (hover: the default), the batched backend unless it loads Bullet bodies."""
    kwargs = ({} if spec.name == "hover" else {"task": spec.name}) | spec.env_kwargs
    out: dict[str, Any] = {"entry_point": SINGLE_ENTRY}
    if not spec.bullet:
        out["vector_entry_point"] = VECTOR_ENTRY
    if kwargs:
        out["kwargs"] = kwargs
    return out


#: Gymnasium ids quadgym provides, with their entry points and keyword defaults: the drone
#: tasks' from their declarations (:mod:`quadgym.envs.quad.tasks.spec`), then the toys'.
ENV_SPECS: dict[str, dict[str, Any]] = {
    **{spec.env_id: _drone_spec(spec) for spec in SPECS if not spec.team},
    "CoPGBandit-v0": {"entry_point": "quadgym.envs.bandit:CoPGBanditEnv"},
    "CoPGSequence-v0": {"entry_point": "quadgym.envs.bandit:CoPGSequenceEnv"},
    "PreferenceToy-v0": {"entry_point": "quadgym.envs.preference:PreferenceToyEnv"},
    "PreferenceTokens-v0": {"entry_point": "quadgym.envs.preference_tokens:PreferenceTokensEnv"},
    "HardShift-v0": {"entry_point": "quadgym.envs.hard.env:HardShiftEnv"},
    "ToyCoding-v0": {"entry_point": "quadgym.envs.coding:ToyCodingEnv"},
}

#: The Gymnasium namespace of quadgym's ids: ``quadgym/QuadHover-v0`` is each id's full
#: name; the bare ids (``QuadHover-v0``) stay registered as aliases of the same env.
NAMESPACE = "quadgym"

#: PettingZoo environments: name -> module following the env()/parallel_env() convention.
PARALLEL_ENVS = {
    name: f"quadgym.envs.{name}"
    for name in ("quad_swarm_v0", *(spec.env_id for spec in SPECS if spec.team))
}

ALGO_GROUP = "quadgym.algos"


def register_envs() -> None:
    """Register every quadgym id with Gymnasium, namespaced (``quadgym/QuadHover-v0``) and
    bare (``QuadHover-v0``, the alias every earlier release had); idempotent."""
    for env_id, spec in ENV_SPECS.items():
        for name in (f"{NAMESPACE}/{env_id}", env_id):
            if name not in gym.registry:
                gym.register(id=name, **spec)


def base_id(env_id: str | None) -> str | None:
    """``env_id`` without quadgym's namespace (``quadgym/QuadHover-v0`` -> ``QuadHover-v0``):
    the key of every table (plugin defaults, run states, leaderboards) whichever name made
    the env."""
    prefix = f"{NAMESPACE}/"
    if env_id is not None and env_id.startswith(prefix):
        return env_id[len(prefix) :]
    return env_id


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
    try:
        module = importlib.import_module(PARALLEL_ENVS[name])
    except ModuleNotFoundError as exc:  # a declared team task without a convention module
        if exc.name != PARALLEL_ENVS[name]:
            raise
        from quadgym.envs.quad.swarm import team_env

        return team_env(next(s.name for s in SPECS if s.env_id == name))[2](**kwargs)
    return module.parallel_env(**kwargs)


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
    if isinstance(env, str):
        env = base_id(env)
    env_id = env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", None)
    env_id = base_id(env_id)
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
