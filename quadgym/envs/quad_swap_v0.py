"""
# quad_swap_v0: Swap places without colliding

PettingZoo module convention: ``from quadgym.envs import quad_swap_v0``.

| Import             | ``from quadgym.envs import quad_swap_v0``                        |
|--------------------|-------------------------------------------------------------|
| Creation           | ``quad_swap_v0.parallel_env(num_drones=4)``, ``.env()`` (AEC)     |
| Actions            | Continuous, as quad_swarm_v0 (every action type)            |
| Parallel API       | Yes                                                         |
| Agents             | ``['drone_0', ..., 'drone_{N-1}']``, N = ``num_drones`` (4) |
| Observation        | quad_swarm_v0's, towards each agent's current goal          |
| State              | ``state()``, (17·N,), as quad_swarm_v0                      |

Every drone starts at rest, in the air, at its point of the formation and
must fly to the point of its mirror, n−1−i: on the default 2 × 2 grid every
path crosses the centre, so the drones must avoid each other (a collision,
two live drones closer than ``collision_distance``, ends both).

Rewards (each agent's hover reward towards its own current goal), the crash
and collision rules, the observation, ``state()`` and every argument are those
of quad_swarm_v0 (:class:`quadgym.envs.quad.swarm.SwarmEnv`'s card), with
``task="swap"`` set. The goals: :mod:`quadgym.envs.quad.tasks.teams`.

**Downwash is on by default** (``physics="pyb_dw"``, the swarm's default; ``"pyb"``
flies without it): a drone under another is pushed down along its own thrust axis
by the paper's fit, capped at the upper drone's thrust and zero for drones side by
side (docs/design.md, "Downwash: source, region, bound, frame").

This makes it a different task from the one flown without downwash: the paths
all cross the centre, and drones that pass each other at different heights (the
PID layers them 0.3 m apart) now meet the upper drone's wake, which can take a
lower drone's whole weight. Scores with and without downwash do not compare.

### Arguments

```python
quad_swap_v0.parallel_env(num_drones=4, formation="grid", spacing=0.5, ...)
```

### Version History

* v0: initial version. Downwash on by default (``physics="pyb_dw"``; ``"pyb"``
  before issue 32): scores measured before do not compare with later ones.
"""

from quadgym.envs.quad.swarm import SwarmEnv, team_env

env, raw_env, parallel_env = team_env("swap")
metadata = {**SwarmEnv.metadata, "name": "quad_swap_v0"}
__all__ = ["env", "metadata", "parallel_env", "raw_env"]
