"""The team tasks fly with downwash by default (issue 32): a stacked pair built with the
defaults (physics not named) feels the hand-computed bounded downwash, and a formation
at one height feels none.

Hand values on cf2x (tests/test_downwash.py): m = 0.027 kg, g = 9.8 m/s², the fit on the
axis 0.075841/δz² N, capped at the upper drone's thrust. Every drone holds its hover
speed (``rpm`` action 0: thrust = weight) for one control step of 1/30 s, from rest.
"""

import numpy as np
import pytest

from quadgym.envs.quad.swarm import SwarmEnv
from quadgym.registry import make_parallel_env

MASS, G, STEP = 0.027, 9.8, 1.0 / 30
K = 2267.18 * (0.0231348 / 4) ** 2  # N·m²
TEAM = ("quad_swap_v0", "quad_reform_v0", "quad_leader_v0")
QUIET = {"start_xy_noise": 0.0, "start_yaw_noise": 0.0}


def vertical_speeds(env, **reset):
    """(n,) world z-velocities after one control step at hover speed from the start."""
    env.reset(seed=0, **reset)
    env.step({a: np.zeros(4, dtype=np.float32) for a in env.agents})
    return env.state().reshape(env.num_drones, -1)[:, 9].astype(float)


def stacked(name, dz, **kwargs):
    return make_parallel_env(
        name, num_drones=2, formation=[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0 + dz]], **QUIET, **kwargs
    )


@pytest.mark.parametrize("name", TEAM)
def test_a_stacked_pair_feels_the_bounded_downwash_by_default(name):
    # 0.3 m apart: the fit would push with 0.075841/0.09 = 0.84 N; the bound is the upper
    # drone's thrust, its weight 0.2646 N, so the lower drone loses exactly its weight and
    # falls freely for the step: Δv = −g·(1/30) = −0.32667 m/s; the upper one stays.
    env = stacked(name, 0.3)
    assert env.config.physics == "pyb_dw"
    low, high = vertical_speeds(env)
    env.close()
    assert low == pytest.approx(-G * STEP, rel=1e-6)
    assert abs(high) < 1e-9
    # 1 m apart, inside the fit's region: 0.075841 N, Δv = −0.075841/0.027/30 = −0.09363
    # m/s (the lower drone sinks 1.6 mm in the step, so the force ends 0.3 % weaker)
    env = stacked(name, 1.0)
    low, high = vertical_speeds(env)
    env.close()
    assert low == pytest.approx(-K / MASS * STEP, rel=3e-3)
    assert abs(high) < 1e-9
    # without downwash (the old default) the same pair holds still
    env = stacked(name, 0.3, physics="pyb")
    assert np.abs(vertical_speeds(env)).max() < 1e-9
    env.close()


def test_the_swarm_face_defaults_to_downwash_and_a_level_formation_feels_none():
    env = SwarmEnv(start_height=1.0, **QUIET)  # quad_swarm_v0's 2 x 2 grid, all at one height
    assert env.config.physics == "pyb_dw"
    assert np.abs(vertical_speeds(env)).max() < 1e-9
    env.close()
