"""
# quad_swarm_v0

PettingZoo module convention: ``from quadgym.envs import quad_swarm_v0``.

| Import             | ``from quadgym.envs import quad_swarm_v0``                     |
|--------------------|----------------------------------------------------------------|
| Creation           | ``quad_swarm_v0.parallel_env(num_drones=4)``, ``.env()`` (AEC) |
| Actions            | Continuous                                                     |
| Parallel API       | Yes                                                            |
| Manual Control     | No                                                             |
| Agents             | ``agents = ['drone_0', ..., 'drone_{N-1}']``                   |
| Agents             | N = ``num_drones`` (4)                                         |
| Action Shape       | (4,) (``rpm``) or (3,) (``pid``)                               |
| Action Values      | [-1, 1]                                                        |
| Observation Shape  | (18 + act_dim + 6·k_neighbors,): (28,) by default              |
| Observation Values | bounded, float32                                               |
| State Shape        | (17·N,): (68,) by default                                      |
| State Values       | bounded, float32                                               |

``num_drones`` Crazyflies in one PyBullet world, one agent each, fly from the
ground to their own points of a formation (``line``, ``circle``, ``grid`` or
an (N, 3) array) and hold them without colliding.

**Observations**: each agent sees its drone's QuadHover-v0 observation towards
its own target and the relative positions and velocities of its
``k_neighbors`` nearest live neighbours.

**Actions**: motor speeds around hover (``rpm``) or a position set-point
tracked by the cascaded PID (``pid``), as QuadHover-v0.

**Rewards**: each agent's own hover reward, ``max(0, 1 − distance / 2 m)``.

**State**: ``state()`` is every drone's position, quaternion, velocity,
angular velocity (world frame), target and alive flag, for centralised critics.

An agent is done when its drone crashes or collides (both drones of a
collision); all are truncated after ``episode_seconds``.

### Arguments

```python
quad_swarm_v0.parallel_env(num_drones=4, formation="grid", spacing=0.5, altitude=1.0,
    k_neighbors=2, drone_model="cf2x", physics="pyb_dw", physics_hz=240, control_hz=30,
    action_type="rpm", episode_seconds=8.0, collision_distance=0.1, start_xy_noise=0.05,
    start_height=0.0, start_height_noise=0.0, start_tilt_noise=0.0, start_vel_noise=0.0,
    start_yaw_noise=0.0, max_tilt=1.2, box=2.0, render_mode=None)
```

Each argument's type, default, unit and range, the observation and state
layouts and the episode end: the card of
:class:`quadgym.envs.quad.swarm.SwarmEnv`.

### Version History

* v0: initial version; ``state()``/``state_space``, ``start_yaw_noise``,
  ``max_tilt`` and ``box`` added without changing the defaults' behaviour.
  Downwash on by default (``physics="pyb_dw"``; ``"pyb"`` before issue 32):
  drones at one height feel nothing; a drone under another loses up to the
  upper drone's thrust.
"""

from quadgym.envs.quad.swarm import SwarmEnv, env, parallel_env, raw_env

metadata = SwarmEnv.metadata
__all__ = ["env", "metadata", "parallel_env", "raw_env"]
