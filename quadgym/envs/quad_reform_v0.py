"""
# quad_reform_v0: Change formation mid-episode

PettingZoo module convention: ``from quadgym.envs import quad_reform_v0``.

| Import             | ``from quadgym.envs import quad_reform_v0``                        |
|--------------------|-------------------------------------------------------------|
| Creation           | ``quad_reform_v0.parallel_env(num_drones=4)``, ``.env()`` (AEC)     |
| Actions            | Continuous, as quad_swarm_v0 (every action type)            |
| Parallel API       | Yes                                                         |
| Agents             | ``['drone_0', ..., 'drone_{N-1}']``, N = ``num_drones`` (4) |
| Observation        | quad_swarm_v0's, towards each agent's current goal          |
| State              | ``state()``, (17·N,), as quad_swarm_v0                      |

The drones hold their formation (``formation``, ``spacing``) from a start in
the air, and at ``at`` seconds (4) switch to a second one (``formation2``,
``spacing2``: a line 0.5 m apart by default), same centre and altitude.

Rewards (each agent's hover reward towards its own current goal), the crash
and collision rules, the observation, ``state()`` and every argument are those
of quad_swarm_v0 (:class:`quadgym.envs.quad.swarm.SwarmEnv`'s card), with
``task="reform"`` set. The goals: :mod:`quadgym.envs.quad.tasks.teams`.

**Downwash is on by default** (``physics="pyb_dw"``, the swarm's default; ``"pyb"``
flies without it): a drone under another is pushed down along its own thrust axis
by the paper's fit, capped at the upper drone's thrust and zero for drones side by
side (docs/design.md, "Downwash: source, region, bound, frame").
The formations are at one height, where the model gives nothing, so the task
changes only where drones pass at different heights during the change.

### Arguments

```python
quad_reform_v0.parallel_env(num_drones=4, formation="grid", spacing=0.5,
    formation2="line", spacing2=0.5, at=4.0, ...)
```

### Version History

* v0: initial version. Downwash on by default (``physics="pyb_dw"``; ``"pyb"``
  before issue 32): scores measured before do not compare with later ones.
"""

from quadgym.envs.quad.swarm import SwarmEnv, team_env

env, raw_env, parallel_env = team_env("reform")
metadata = {**SwarmEnv.metadata, "name": "quad_reform_v0"}
__all__ = ["env", "metadata", "parallel_env", "raw_env"]
