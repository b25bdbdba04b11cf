"""The batched backend beside the single env: its lanes started where the single env's
episode starts, so that a lane can be flown beside it and compared (to 1e-12 in ``dyn``)."""

from typing import Any

import numpy as np

from quadgym.envs.quad.sim.dynamics import State


def start_lanes_like(single: Any, envs: Any, n: int) -> np.ndarray:
    """Reset ``single`` (an unwrapped single env) at seed 3 and every one of the ``n`` lanes of
    ``envs`` at its start state (seed 0 for the lanes' own draws); the lanes' observations."""
    single.reset(seed=3)
    s0 = single.world.get_state()
    start = State(*(np.repeat(a, n, axis=0) for a in (s0.pos, s0.quat, s0.vel, s0.ang_vel)))
    obs, _ = envs.reset(seed=0, options={"state": start})
    return obs


def fly_lane_beside(single: Any, envs: Any, steps: int, n: int = 3, lane: int = 1) -> tuple:
    """Fly ``steps`` control steps of random motor commands (±0.2, seed 0) on every lane and
    lane ``lane``'s on ``single``, asserting at each step that the two observe the same to
    1e-12; the single env's last observation, and whether its episode ended on the way."""
    rng = np.random.default_rng(0)
    ended = False
    for _ in range(steps):
        act = rng.uniform(-0.2, 0.2, size=(n, 4)).astype(np.float32)
        obs, _, term, *_ = single.step(act[lane])
        vobs, *_ = envs.step(act)
        ended = ended or bool(term)
        np.testing.assert_allclose(vobs[lane], obs, rtol=0, atol=1e-12)
    return obs, ended
