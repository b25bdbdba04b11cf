"""Worlds that never leak, nonsense refused: the env half of the robustness issue.

Each test pins one reported defect (the docstring says what happened before):
PyBullet clients left open by failed constructions, failed plugin builds and
dropped envs; NaN, infinite, negative or absurd arguments accepted; ``step()``
accepted before ``reset()``, after the episode ended and after ``close()``;
HardShift-v0's unbounded additive actions; a 10,000-drone swarm needing
(n, n, 3) arrays and a quadratic number of Bullet pose resets per reset.
"""

from __future__ import annotations

import gc
import math
import weakref
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pybullet
import pytest
import torch

import quadgym
from quadgym.envs import quad_swarm_v0
from quadgym.envs.bandit import CoPGBanditEnv, CoPGSequenceEnv
from quadgym.envs.coding import ToyCodingEnv
from quadgym.envs.hard.env import MAX_PERTURBATION, HardShiftEnv
from quadgym.envs.lifecycle import EnvClosed, ResetNeeded
from quadgym.envs.preference import PreferenceToyEnv
from quadgym.envs.quad.sim.world import World
from quadgym.envs.quad.single import QuadHoverEnv
from quadgym.envs.quad.swarm import SwarmEnv
from quadgym.envs.quad.tasks import base as tasks
from quadgym.envs.quad.tasks import neighbours
from quadgym.envs.quad.vector import QuadHoverVectorEnv

NAN, INF = math.nan, math.inf


def open_clients(upto: int = 256) -> int:
    """PyBullet clients connected among ids 0 .. upto-1 (ids are reused after a disconnect)."""
    return sum(pybullet.getConnectionInfo(i)["isConnected"] for i in range(upto))


# ----------------------------------------------------------------- no leaks


def _fail_after_world(monkeypatch: pytest.MonkeyPatch, make: Callable[[], Any]) -> None:
    """Build with the step after the World raising (as a constructor bug would)."""
    with monkeypatch.context() as m:
        m.setattr(tasks.HoverTask, "observation_space", _broken)
        with pytest.raises(RuntimeError, match="broken after the world"):
            make()


def _broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("broken after the world")


#: Constructions that fail (the exception, what makes one); each runs FAILURE_REPEATS times.
FAILURES: list[tuple[type[Exception] | tuple, Callable[[], Any]]] = [
    (ValueError, lambda: gym.make("QuadHover-v0", start_height=-5)),
    (ValueError, lambda: gym.make("QuadHover-v0", drone_model="race", action_type="pid")),
    (TypeError, lambda: quad_swarm_v0.parallel_env(num_drones=2.5)),
    (ValueError, lambda: quad_swarm_v0.parallel_env(num_drones=3, formation=[[0, 0, 1]] * 4)),
    (ValueError, lambda: gym.make_vec("QuadHover-v0", num_envs=2, start_xy_noise=NAN)),
    # SB3 refuses batch_size=1 after 1 + 8 PyBullet envs exist (9 clients leaked before)
    (AssertionError, lambda: quadgym.make_algo("ppo", "QuadHover-v0", batch_size=1)),
    # the plugin's own env exists when its training envs' kwargs are refused
    (ValueError, lambda: quadgym.make_algo("ppo", "QuadHover-v0", env_kwargs={"box": -1.0})),
    # no PID gains for the racer: the caller's env exists, and is dropped
    (ValueError, lambda: quadgym.make_algo("pid", gym.make("QuadHover-v0", drone_model="race"))),
]
FAILURE_REPEATS = 10


def test_no_pybullet_client_outlives_failures_or_dropped_envs(monkeypatch):
    """Before: every failure after a World existed kept its client (~28 MiB), a failed
    ``make_algo("ppo", ...)`` kept 9, and 200 dropped envs kept 200 (+5.5 GB) even after
    ``gc.collect()``. After: none is left."""
    gc.collect()
    before = open_clients()
    for _ in range(FAILURE_REPEATS):
        for error, make in FAILURES:
            with pytest.raises(error):
                make()
        _fail_after_world(monkeypatch, lambda: gym.make("QuadHover-v0"))
        _fail_after_world(monkeypatch, lambda: quad_swarm_v0.parallel_env(num_drones=3))
        assert open_clients() <= before + 2  # stop early, not at 28 MiB per leaked client
    for _ in range(50):
        gym.make("QuadHover-v0").reset(seed=0)  # dropped, never closed
        quad_swarm_v0.parallel_env(num_drones=2)
        assert open_clients() <= before + 2
    gc.collect()
    assert open_clients() == before


def test_a_dropped_world_is_released_by_its_finaliser(cf2x):
    """Before: a World dropped without close() kept its client for the process's life."""
    world = World(cf2x, 2)
    client, ref = world.client, weakref.ref(world)
    # the finaliser holds the client id only, so it cannot keep the world alive
    assert world._release.peek()[2:] == ((client,), {})
    del world
    gc.collect()
    assert ref() is None and not pybullet.getConnectionInfo(client)["isConnected"]


def test_close_is_the_finaliser_once(cf2x):
    world = World(cf2x, 1)
    world.close()
    world.close()
    assert world.closed and not pybullet.getConnectionInfo(world.client)["isConnected"]
    other = World(cf2x, 1)  # may reuse the client id: the old finaliser must not touch it
    del world
    gc.collect()
    assert pybullet.getConnectionInfo(other.client)["isConnected"]
    other.close()


def test_a_failed_plugin_build_releases_its_envs_at_once():
    """Before: 9 clients stayed open after SB3 refused ``batch_size=1``, gc or not."""
    before = open_clients()
    with pytest.raises(AssertionError, match="batch_size"):
        quadgym.make_algo("ppo", "QuadHover-v0", batch_size=1)
    assert open_clients() == before  # released before the error propagates


# ------------------------------------------------------------- arguments

#: (constructor, argument, bad values): every numeric argument of every toy env.
TOY_NUMERIC = [
    (CoPGBanditEnv, "beta", [NAN, INF, -1.0, 0.0, 1e-9]),
    (CoPGBanditEnv, "rewards", [(1.0, NAN), (1.0, INF), (1.0,), (1.0, 1e9)]),
    (CoPGBanditEnv, "ref_policy", [(0.5, 0.5, NAN), (-0.5, 1.0, 0.5), (1.0, 0.0, 0.0)]),
    (CoPGSequenceEnv, "vocab", [NAN, INF, -1, 1, 2.5]),
    (CoPGSequenceEnv, "length", [NAN, INF, -1, 0]),
    (CoPGSequenceEnv, "num_tests", [NAN, INF, -1, 0, 10**9]),
    (CoPGSequenceEnv, "reward_scale", [NAN, INF, -1.0, 0.0, 1e300]),
    (CoPGSequenceEnv, "beta", [NAN, INF, -1.0, 0.0]),
    (CoPGSequenceEnv, "task_seed", [NAN, INF, -1, 1.5]),
    (PreferenceToyEnv, "num_prompts", [NAN, INF, -1, 0]),
    (PreferenceToyEnv, "num_responses", [NAN, INF, -1, 9]),
    (PreferenceToyEnv, "ref_temperature", [NAN, INF, -1.0, 0.0, 1e-310]),
    (PreferenceToyEnv, "task_seed", [NAN, INF, -1]),
    (ToyCodingEnv, "value_range", [NAN, INF, -1, 1, 10**9]),
    (ToyCodingEnv, "min_ops", [NAN, INF, -1, 0, 7]),
    (ToyCodingEnv, "max_ops", [NAN, INF, -1, 0, 32]),
    (HardShiftEnv, "batch_size", [NAN, INF, -1, 0]),
    (HardShiftEnv, "budget", [NAN, INF, -1, 0]),
    (HardShiftEnv, "lr", [NAN, INF, -1.0, 0.0, 1e6]),
    (HardShiftEnv, "temperature", [NAN, INF, -1.0, 0.0, 1e-40]),
    (HardShiftEnv, "window", [NAN, INF, -1, 0, 32]),
    (HardShiftEnv, "task_seed", [NAN, INF, -1]),
]
TOY_CASES = [(cls, name, value) for cls, name, values in TOY_NUMERIC for value in values]


@pytest.mark.parametrize(
    "cls, name, value", TOY_CASES, ids=[f"{c.__name__}-{n}={v!r}" for c, n, v in TOY_CASES]
)
def test_every_numeric_toy_argument_is_range_checked_by_name(forbid, cls, name, value):
    """Before: NaN reward_scale/ref_temperature gave NaN rewards and a NaN π_ref, others
    raised "cannot convert float NaN to integer" or "'<' not supported ...", and a
    billion tests hung the constructor. After: TypeError/ValueError naming the argument,
    before any data is drawn or teacher trained."""
    forbid((np.random, "default_rng"))
    with pytest.raises((TypeError, ValueError), match=name) as info:
        cls(**{name: value})
    assert "not supported" not in str(info.value) and "convert" not in str(info.value)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: CoPGSequenceEnv(reward_scale=NAN), "reward_scale must be a finite number"),
        (lambda: PreferenceToyEnv(ref_temperature=NAN), "ref_temperature must be a finite"),
        (lambda: PreferenceToyEnv(ref_temperature=0.01), r"ref_temperature must be >= 0\.05"),
        (lambda: CoPGSequenceEnv(vocab=NAN), "vocab must be int, got float nan"),
        (lambda: PreferenceToyEnv(num_prompts="a"), "num_prompts must be int, got str 'a'"),
        (lambda: CoPGSequenceEnv(vocab=20, length=4), r"vocab\*\*length must be <= 65536"),
        (lambda: ToyCodingEnv(split="dev"), "split must be one of 'train', 'test', 'all'"),
        (
            lambda: HardShiftEnv(data_kwargs={"lenght": 40}),
            "toy data: unknown key 'lenght'; did you mean 'length'",
        ),
        (lambda: HardShiftEnv(data_kwargs={"noise": NAN}), "noise must be a finite number"),
        (lambda: HardShiftEnv(data_kwargs={"num_classes": 0}), "num_classes must be >= 2"),
        (lambda: HardShiftEnv(data_kwargs={"window": 4}), "window is an argument of its own"),
        (lambda: HardShiftEnv(dataset="mnist1d", window=40), r"window must be in 1\.\.39"),
    ],
)
def test_messages_say_what_is_allowed(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


QUAD_BAD = [
    ("start_height", -5.0),
    ("start_xy_noise", -0.1),
    ("start_xy_noise", NAN),
    ("start_tilt_noise", NAN),
    ("start_vel_noise", -1.0),
    ("start_vel_noise", 1e300),  # gave NaN observations in pyb
    ("start_xy_noise", 1e300),
    ("start_height", 1e300),
    ("target", [0.0, 0.0, 1e300]),  # gave non-finite observations
    ("start", [1e5, 0.0, 0.0]),
    ("box", 1e300),
    ("physics_hz", 10**9),  # 3e7 substeps per step
]
QUAD_FACES: dict[str, Callable[..., Any]] = {
    "single": QuadHoverEnv,
    "swarm": SwarmEnv,
    "vector": lambda **kw: QuadHoverVectorEnv(num_envs=2, **kw),
}
QUAD_CASES = [
    (face, name, value)
    for face in QUAD_FACES
    for name, value in QUAD_BAD
    if not (face == "swarm" and name in ("start", "target"))
]


@pytest.mark.parametrize(
    "face, name, value", QUAD_CASES, ids=[f"{f}-{n}={v!r}" for f, n, v in QUAD_CASES]
)
def test_quad_faces_refuse_absurd_values_before_a_client_exists(forbid, face, name, value):
    """Before: negative or NaN start noise failed only at reset (already fixed by
    QuadConfig); 1e300 m or m/s passed and gave NaN observations."""
    forbid((pybullet, "connect"))
    with pytest.raises((TypeError, ValueError), match=name):
        QUAD_FACES[face](**{name: value})


def test_a_formation_beyond_the_arena_is_refused_by_spacing(forbid):
    forbid((pybullet, "connect"))
    with pytest.raises(ValueError, match="spacing=1000 m reaches"):
        quad_swarm_v0.parallel_env(num_drones=100, formation="line", spacing=1000.0)


# --------------------------------------------------------- additive actions


def test_additive_actions_are_bounded_and_non_finite_ones_refused():
    """Before: the additive Box was unbounded and an action of 3e38 was accepted."""
    env = HardShiftEnv(action_type="additive", batch_size=4, budget=5)
    space = env.action_space
    assert np.all(space.low == -MAX_PERTURBATION) and np.all(space.high == MAX_PERTURBATION)
    env.reset(seed=0)
    _, reward, *_ = env.step(np.full(space.shape, 3e38, dtype=np.float32))
    assert np.isfinite(reward)  # clipped to the bound
    assert all(torch.isfinite(p).all() for p in env.student.parameters())
    for bad in (np.inf, -np.inf, np.nan):
        with pytest.raises(ValueError, match="non-finite entry"):
            env.step(np.full(space.shape, bad, dtype=np.float32))


# ------------------------------------------------------------- lifecycle


def _quick_envs() -> dict[str, Callable[[], Any]]:
    """One short-episode raw env of each class (episodes of one or a few steps)."""
    return {
        "CoPGBandit-v0": CoPGBanditEnv,
        "CoPGSequence-v0": lambda: CoPGSequenceEnv(length=1),
        "PreferenceToy-v0": PreferenceToyEnv,
        "HardShift-v0": lambda: HardShiftEnv(batch_size=2, budget=1),
        "ToyCoding-v0": lambda: ToyCodingEnv(min_ops=1, max_ops=1),
        "QuadHover-v0 pyb": lambda: QuadHoverEnv(episode_seconds=1 / 30),
        "QuadHover-v0 dyn": lambda: QuadHoverEnv(physics="dyn", episode_seconds=1 / 30),
    }


QUICK = list(_quick_envs())


def _end_episode(env: gym.Env) -> None:
    for _ in range(10):
        *_, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            return
    raise AssertionError("the episode did not end")


@pytest.mark.parametrize("name", QUICK)
def test_raw_envs_refuse_steps_before_reset_after_the_end_and_after_close(name):
    """Before: raw classes stepped before reset (or failed with AttributeError on None),
    one-step toys went on after their episode, QuadHover-v0 went on after a crash without
    a word, and in dyn mode stepped on after close()."""
    env = _quick_envs()[name]()
    env.action_space.seed(0)
    with pytest.raises(gym.error.ResetNeeded, match="reset"):
        env.step(env.action_space.sample())
    env.reset(seed=0)
    _end_episode(env)
    if name.startswith("QuadHover"):  # the physics goes on, with Gymnasium's warning
        with pytest.warns(UserWarning, match="after the episode ended"):
            env.step(env.action_space.sample())
    else:
        with pytest.raises(ResetNeeded, match="reset"):
            env.step(env.action_space.sample())
    env.reset(seed=1)  # a new episode steps again
    env.step(env.action_space.sample())
    env.close()
    env.close()
    with pytest.raises(gym.error.ClosedEnvironmentError, match="closed"):
        env.step(env.action_space.sample())
    with pytest.raises(EnvClosed, match="closed"):
        env.reset(seed=0)
    assert issubclass(EnvClosed, RuntimeError) and issubclass(ResetNeeded, RuntimeError)


def test_gym_make_passes_the_closed_error_through_its_wrappers():
    env = gym.make("QuadHover-v0", physics="dyn")
    env.reset(seed=0)
    env.close()
    with pytest.raises(gym.error.ClosedEnvironmentError):
        env.step(env.action_space.sample())


def test_swarm_lifecycle():
    """Before: step() before reset() raised AttributeError on None, and an episode
    whose agents were all done went on stepping."""
    env = quad_swarm_v0.parallel_env(num_drones=2, episode_seconds=1 / 30)
    with pytest.raises(ResetNeeded, match="reset"):
        env.step({})
    env.reset(seed=0)
    env.step({a: np.zeros(4, np.float32) for a in env.agents})
    assert not env.agents
    with pytest.raises(ResetNeeded, match="every agent is done"):
        env.step({})
    env.close()
    with pytest.raises(EnvClosed):
        env.reset(seed=0)


def test_vector_env_refuses_steps_after_close():
    """Before: after close() it said "call reset() before step()"."""
    envs = QuadHoverVectorEnv(num_envs=3)
    with pytest.raises(ResetNeeded):
        envs.step(np.zeros((3, 4)))
    envs.reset(seed=0)
    envs.close()
    with pytest.raises(EnvClosed, match="closed"):
        envs.step(np.zeros((3, 4)))


# ------------------------------------------------------------ large swarms


@pytest.mark.parametrize("sort_below", [0, 1000], ids=["partition", "sort"])
@pytest.mark.parametrize("k", [1, 3, 12])
def test_blocked_neighbour_search_equals_a_stable_sort_of_all_pairs(monkeypatch, k, sort_below):
    """The neighbour search that replaced the (n, n, 3) arrays: same neighbours, in the
    order of a stable sort (ties by index: the grid has many), block size irrelevant,
    whether the rows are partitioned (large swarms) or sorted (small ones)."""
    rng = np.random.default_rng(0)
    pos = np.r_[tasks.formation_points("grid", 30, 0.5, 1.0), rng.normal(size=(10, 3))]
    alive = rng.random(40) > 0.2
    diff = pos[None] - pos[:, None]
    d2 = np.einsum("ijk,ijk->ij", diff, diff)  # as the swarm computed it before
    d2[:, ~alive] = np.inf
    np.fill_diagonal(d2, np.inf)
    want = np.argsort(d2, axis=1, kind="stable")[:, :k]
    monkeypatch.setattr(neighbours, "BLOCK_ELEMENTS", 64)  # blocks of one row
    monkeypatch.setattr(neighbours, "SORT_BELOW", sort_below)
    index, dist2 = neighbours.nearest_live(pos, alive, k)
    finite = np.isfinite(dist2)
    np.testing.assert_array_equal(np.where(finite, index, -1), np.where(finite, want, -1))
    np.testing.assert_array_equal(dist2, np.take_along_axis(d2, want, axis=1))


def test_a_reset_resets_each_pose_once(monkeypatch):
    """Before: a reset moved every body away and back (2 pose resets per drone, each
    costing time in proportion to the bodies: 36 s of a 10,000-drone reset). After: one
    restoreState drops the contact caches, one pose reset per drone remains."""
    env = quad_swarm_v0.parallel_env(num_drones=20)
    calls = []
    real = pybullet.resetBasePositionAndOrientation
    monkeypatch.setattr(
        pybullet,
        "resetBasePositionAndOrientation",
        lambda *a, **kw: calls.append(a) or real(*a, **kw),
    )
    env.reset(seed=0)
    assert len(calls) == 20
    env.close()
