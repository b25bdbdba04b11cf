"""The random-action workloads the throughput benchmarks share.

Random full-range actions are what RL exploration looks like: drones tilt,
touch the ground, tumble and leave the box, so episodes end within a second or
two and resets are frequent. Each function times ``step()`` alone (each call
between two ``perf_counter`` reads) and the full loop (steps plus the resets
whenever an episode ends) in the same run, and returns both, with what they
count named in the keys.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np

import quadgym  # noqa: F401  (registers the envs)
from quadgym.registry import make_parallel_env


def _timed(call, *args):
    """``call(*args)`` and the seconds it took."""
    start = time.perf_counter()
    out = call(*args)
    return out, time.perf_counter() - start


def hover_random(physics: str = "pyb", drones: int = 1, steps: int = 6000) -> dict[str, float]:
    """QuadHover-v0 (through ``gym.make``, defaults otherwise) under uniform random
    actions in [-1, 1], reset whenever an episode ends.

    Returns ``step_only_steps_per_s`` (``step()`` calls only), ``loop_steps_per_s``
    (steps and resets), ``reset_ms`` (mean ``reset()`` of this loop) and ``episodes``.
    """
    env = gym.make("QuadHover-v0", physics=physics, num_drones=drones)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(steps,) + env.action_space.shape).astype(np.float32)
    in_step = in_reset = 0.0
    episodes = 0
    for a in actions:
        (_, _, term, trunc, _), took = _timed(env.step, a)
        in_step += took
        if term or trunc:
            in_reset += _timed(env.reset)[1]
            episodes += 1
    env.close()
    return {
        "step_only_steps_per_s": steps / in_step,
        "loop_steps_per_s": steps / (in_step + in_reset),
        "reset_ms": in_reset / max(episodes, 1) * 1e3,
        "episodes": episodes,
    }


def swarm_random(physics: str = "pyb", drones: int = 4, steps: int = 4000) -> dict[str, float]:
    """quad_swarm_v0 (defaults otherwise) under uniform random actions in [-1, 1] for
    every live agent, reset once every agent is done.

    Returns, for ``step()`` calls only: ``agent_steps_per_s`` (the live agents each
    step serves, the samples RL receives), ``drone_steps_per_s`` (every drone of the
    world, live or done) and ``env_steps_per_s``; and ``live_fraction`` (mean live
    agents per step over ``drones``) and ``reset_ms``.
    """
    env = make_parallel_env("quad_swarm_v0", num_drones=drones, physics=physics)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(steps, drones, 4)).astype(np.float32)
    index = {a: i for i, a in enumerate(env.possible_agents)}
    in_step = in_reset = 0.0
    live = episodes = 0
    for k in range(steps):
        act = {a: actions[k, index[a]] for a in env.agents}
        live += len(act)
        in_step += _timed(env.step, act)[1]
        if not env.agents:
            in_reset += _timed(env.reset)[1]
            episodes += 1
    env.close()
    return {
        "agent_steps_per_s": live / in_step,
        "drone_steps_per_s": steps * drones / in_step,
        "env_steps_per_s": steps / in_step,
        "live_fraction": live / (steps * drones),
        "reset_ms": in_reset / max(episodes, 1) * 1e3,
    }
