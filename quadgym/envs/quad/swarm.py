"""quad_swarm_v0: a PettingZoo ParallelEnv, one agent per drone, over the same world and task.

The PettingZoo module (``env``, ``raw_env``, ``parallel_env``, ``metadata``) is
:mod:`quadgym.envs.quad_swarm_v0`; this module holds the environment class.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import EzPickle
from numpy.typing import ArrayLike
from pettingzoo import ParallelEnv
from pettingzoo.utils import parallel_to_aec, wrappers

from quadgym.envs.lifecycle import env_name
from quadgym.envs.quad.config import SwarmConfig
from quadgym.envs.quad.episode import Episode, face_config
from quadgym.envs.quad.sensors.camera import Observer
from quadgym.envs.quad.sensors.view import WorldCamera
from quadgym.envs.quad.sim.dynamics import State, quat_to_rot
from quadgym.envs.quad.sim.world import World
from quadgym.envs.quad.tasks.base import (
    FORMATIONS,
    all_finite,
    check_actions,
    formation_points,
)
from quadgym.envs.quad.tasks.neighbours import nearest_live
from quadgym.envs.quad.tasks.suite import TEAM_ENVS

__all__ = ["FORMATIONS", "SwarmEnv", "env", "formation_points", "parallel_env", "raw_env"]

#: Numbers per drone in :meth:`SwarmEnv.state`.
STATE_PER_DRONE = 17


class SwarmEnv(ParallelEnv, EzPickle):
    """
    ## Description

    ``num_drones`` Crazyflies in one PyBullet world (the physics of
    QuadHover-v0), one PettingZoo agent each (``drone_0``, ...). Each drone
    must reach and hold its own point of a formation (``line``, ``circle``,
    ``grid`` or an (N, 3) array) without colliding with the others; they
    interact through collisions and downwash.

    **Downwash is on by default** (``physics="pyb_dw"``): a drone below
    another is pushed down along its own thrust axis by the bounded fit of
    docs/design.md ("Downwash: source, region, bound, frame"; at most the
    upper drone's thrust, zero for drones side by side). It costs a state read
    per physics substep (~1.7x the step time of ``physics="pyb"``, 4 drones,
    ``pid`` actions); ``physics="pyb"`` flies without it.

    ## Action Space (per agent)

    As QuadHover-v0's (its card has the table): ``Box(-1, 1, (d,), float32)``
    with ``d`` = 4 for ``rpm``, ``vel`` and ``attitude``, 3 for ``pid`` and 1
    for ``one_d_rpm`` and ``one_d_pid``. Finite values outside [-1, 1] are
    clipped; NaN/inf, a wrong shape, a missing live agent or an action for a
    done agent raise ``ValueError``.

    ## Observation Space (per agent)

    ``Box(float32)`` of shape ``(18 + a + 6·k_neighbors,)``: the QuadHover-v0
    observation of the drone towards its own target, then its
    ``k_neighbors`` nearest live neighbours, nearest first (zeros where
    fewer remain), from ``o = 18 + a`` (plus, before the neighbours, QuadHover-v0's
    optional entries in its order: 4 motor speeds with ``motors=True``, the task's own,
    the memory of ``action_history`` and ``error_integral``):

    | Num        | Observation                             | Min | Max | Unit  |
    |------------|-----------------------------------------|-----|-----|-------|
    | 0 - 2      | target − position (world x, y, z)       | -e  | e   | m     |
    | 3 - 11     | rotation matrix body→world, rows        | -1  | 1   |       |
    | 12 - 14    | linear velocity (world)                 | -10 | 10  | m/s   |
    | 15 - 17    | angular velocity (body)                 | -30 | 30  | rad/s |
    | 18 - 17+a  | previous action (a = act_dim)           | -1  | 1   |       |
    | o+6j + 0-2 | neighbour j: its position − own (world) | -s  | s   | m     |
    | o+6j + 3-5 | neighbour j: its velocity − own (world) | -20 | 20  | m/s   |

    ``e`` is the box half-width plus the largest start-to-target distance plus
    0.5 m; ``s = 2·e + 2·spacing·num_drones``. Values saturate at the bounds.

    **Privileged** (``privileged=True``, for training only): after the neighbours, the
    drone's own 34-entry privileged vector, QuadHover-v0's
    (:data:`~quadgym.envs.quad.episode.PRIVILEGED`: its true target − position, rotation,
    velocity and body rates, the fraction of the episode flown, its episode's physical
    parameters, sensor-noise std and action delay). ``ppo_shared``'s ``asymmetric_critic``
    sets it on its training swarms and drops it from the shared actor.

    **Onboard cameras** (``obs_type``, default ``"kin"``: the vector above,
    alone): each agent gets the images of its own drone's forward camera, and
    the drones see each other (segmentation id 3 + i for drone i; a drone never
    sees itself). Parts, spaces, ids, capture rate and renderers are
    QuadHover-v0's (its card's Observation Space): one part is a Box, several a
    ``Dict`` keyed by part. Every live drone renders its own frame (one
    ``getCameraImage`` call each; ``benchmarks/bench_camera.py`` for 1 to 16
    drones).

    ## State

    ``state()`` is the global state for centralised critics, the same size
    whichever agents are alive: ``Box(float32)`` ``state_space`` of shape
    ``(17·num_drones,)``, drone i (in ``possible_agents`` order) at ``k = 17·i``,
    everything in the world frame:

    | Num         | State of drone i (k = 17·i)        | Min | Max | Unit  |
    |-------------|------------------------------------|-----|-----|-------|
    | k+0 - k+2   | position (world x, y, z)           | -p  | p   | m     |
    | k+3 - k+6   | quaternion body→world (x, y, z, w) | -1  | 1   |       |
    | k+7 - k+9   | linear velocity (world)            | -10 | 10  | m/s   |
    | k+10 - k+12 | angular velocity (world)           | -30 | 30  | rad/s |
    | k+13 - k+15 | target (world x, y, z)             | -p  | p   | m     |
    | k+16        | alive: 1, done: 0                  | 0   | 1   |       |

    ``p`` is the largest target coordinate magnitude plus ``e``. Done drones
    keep being reported where they ended, at rest, alive 0 (see Episode End);
    values saturate at the bounds.

    ## Rewards

    Each agent gets the hover reward of its own drone, ``max(0, 1 −
    distance / 2 m)`` per step: independent of the other drones except
    through physics.

    ## Starting State

    At rest, level, on the ground below its target (``start_height`` m above
    the resting height), plus uniform noise: ±``start_xy_noise`` m in x and y,
    ±``start_yaw_noise`` rad of yaw, ±``start_tilt_noise`` rad of roll and
    pitch, ±``start_vel_noise`` m/s per velocity axis and an extra height in
    [0, ``start_height_noise``] m.

    ## Episode End

    1. Termination of an agent: its drone crashes (tilt beyond ``max_tilt``,
       leaving its ``box``, ground impact faster than 1 m/s, as QuadHover-v0).
    2. Termination of both agents of a collision: two live drones closer than
       ``collision_distance`` m (centre to centre).
    3. Truncation of every live agent after ``episode_seconds``.
    4. With ``end_together`` (the default): truncation of every other live agent
       in the step where one terminates (a crash or a collision). The swarm
       flies as a team, and the agents leave together, which is what
       SuperSuit's vector env (PettingZoo's SB3 tutorial path:
       ``pettingzoo_env_to_vec_env_v1`` then ``concat_vec_envs_v1``) needs; it
       refuses varying numbers of live agents. ``end_together=False``: agents
       leave one by one (then add SuperSuit's ``black_death_v3`` on that path).

    Done agents leave ``env.agents`` and their drones leave the flight where
    they ended: each stops there (velocities zero), collides with nothing,
    exerts no downwash and costs the physics nothing until the next
    ``reset()`` (:meth:`World.retire <quadgym.envs.quad.sim.world.World.retire>`).
    Before, a done drone's motors stopped and it fell on as a wreck the live
    drones could hit, while pushing them down with the downwash of motors that
    were off; with random actions a third of the drone-steps went to wrecks.
    ``step()`` before
    ``reset()`` or once every agent is done raises ``ResetNeeded``; ``step()`` or
    ``reset()`` after ``close()`` raises ``EnvClosed`` (:mod:`quadgym.envs.lifecycle`).

    ## Arguments

    ```python
    >>> from quadgym.envs import quad_swarm_v0
    >>> env = quad_swarm_v0.parallel_env(num_drones=4, formation="circle", spacing=0.6,
    ...                                  action_type="pid", physics="pyb_dw")
    ```

    Checked before anything is built, as QuadHover-v0's (``TypeError`` for a
    wrong type, ``ValueError`` otherwise, naming the argument). ``env.config``
    holds the shared ones (a :class:`~quadgym.envs.quad.config.QuadConfig`;
    ``start`` and ``target`` are None: the formation places them),
    ``env.swarm_config`` the swarm's own.

    | Parameter              | Type           | Default | Description                          |
    |------------------------|----------------|---------|--------------------------------------|
    | ``num_drones``         | **int**        | 4       | drones, one agent each               |
    | ``formation``          | **str, array** | "grid"  | ``line``, ``circle``, ``grid`` or an |
    |                        |                |         | (num_drones, 3) array of targets, m; |
    |                        |                |         | every target within ±1e4 m           |
    | ``spacing``            | **float**      | 0.5     | neighbouring targets' distance, m    |
    | ``altitude``           | **float**      | 1.0     | height of a named formation, m       |
    | ``k_neighbors``        | **int**        | 2       | neighbours each agent observes       |
    | ``drone_model``        | **str**        | "cf2x"  | ``cf2x``, ``cf2p`` or ``race``       |
    | ``physics``            | **str**        | "pyb_dw"| physics mode, as QuadHover-v0; the   |
    |                        |                |         | default adds downwash (see below)    |
    | ``physics_hz``         | **int**        | 240     | physics rate, Hz; <= 100,000         |
    | ``control_hz``         | **int**        | 30      | control rate, Hz; divides the above  |
    | ``action_type``        | **str**        | "rpm"   | as QuadHover-v0: ``rpm``,            |
    |                        |                |         | ``one_d_rpm``, ``pid``, ``one_d_pid``|
    |                        |                |         | ``vel``, ``attitude``                |
    | ``episode_seconds``    | **float**      | 8.0     | episode length, s                    |
    | ``collision_distance`` | **float**      | 0.1     | centre distance of a collision, m    |
    | ``end_together``       | **bool**       | True    | one drone down ends every live       |
    |                        |                |         | agent's episode (see Episode End)    |
    | ``start_xy_noise``     | **float**      | 0.05    | ± start noise in x and y, m          |
    | ``start_height``       | **float**      | 0.0     | start above the resting height, m    |
    | ``start_height_noise`` | **float**      | 0.0     | extra start height in [0, this], m   |
    | ``start_tilt_noise``   | **float**      | 0.0     | ± start roll and pitch, rad; <= π/2  |
    | ``start_vel_noise``    | **float**      | 0.0     | ± start velocity per axis, m/s; <= 10|
    | ``start_yaw_noise``    | **float**      | 0.0     | ± start noise of yaw, rad; <= π      |
    | ``max_tilt``           | **float**      | 1.2     | crash tilt from upright, rad         |
    | ``box``                | **float**      | 2.0     | half-width of each flight box, m     |
    | ``render_mode``        | **str**        | None    | ``rgb_array`` (a camera following    |
    |                        |                |         | the drones, trails and set-points)   |
    | ``render_width``       | **int**        | 640     | rgb_array frame width, px; 16-4096   |
    | ``render_height``      | **int**        | 480     | rgb_array frame height, px; 16-4096  |
    | ``task``               | **str**        | "hover" | ``hover``, ``track`` (each drone     |
    |                        |                |         | follows a reference around its       |
    |                        |                |         | formation point), ``land`` (each on  |
    |                        |                |         | a pad below it), or the team tasks   |
    |                        |                |         | ``swap``, ``reform``, ``leader``     |
    | ``perturb``            | **str, dict**  | None    | perturbations, as QuadHover-v0's     |
    |                        |                |         | (wind, mass, noise, delay; off)      |
    | ``randomize``          | **str, dict**  | None    | per-episode perturbation ranges, as  |
    |                        |                |         | QuadHover-v0's (each drone its own)  |
    | ``motors``             | **bool**       | False   | motor lag and speeds observed, as    |
    |                        |                |         | QuadHover-v0's                       |
    | ``action_history``     | **int**        | 0       | the k actions before the previous in |
    |                        |                |         | the observation, as QuadHover-v0's   |
    | ``error_integral``     | **float**      | 0.0     | the position error's leaky integral  |
    |                        |                |         | observed (leak τ, s), as QuadHover-v0|
    | ``error_integral_radius`` | **float**   | None    | its anti-windup radius, m, as        |
    |                        |                |         | QuadHover-v0's                       |
    | ``privileged``         | **bool**       | False   | each drone's privileged vector after |
    |                        |                |         | its neighbours, as QuadHover-v0's    |
    |                        |                |         | (training only: ppo_shared's critic) |
    | ``obs_type``           | **str**        | "kin"   | ``kin``, ``rgb``, ``depth``, ``seg`` |
    |                        |                |         | or parts joined by "+"               |
    | ``camera_width``       | **int**        | 64      | image width, pixels; 1 to 1024       |
    | ``camera_height``      | **int**        | 48      | image height, pixels; 1 to 1024      |
    | ``camera_fov``         | **float**      | 60.0    | vertical field of view, deg; (0, 180)|
    | ``camera_near``        | **float**      | 0.1     | near plane, m; beyond the body       |
    | ``camera_far``         | **float**      | 20.0    | far plane, m; > near, <= 1000        |
    | ``camera_tilt``        | **float**      | 0.0     | pitch below body +x, deg; ±90        |
    | ``camera_hz``          | **int**        | None    | frames/s; divides ``control_hz``;    |
    |                        |                |         | None: every control step             |
    | ``camera_renderer``    | **str**        | "auto"  | ``auto``, ``tiny``, ``rays``, ``egl``|

    ``**options``: the task's own arguments, as QuadHover-v0's card lists
    them (``task="track"``: ``trajectory``, ``radius``, ...; ``"land"``:
    ``height``, ``offset``, ...); ``env.task_options`` holds them.

    Lengths (``start_height``, ``start_xy_noise``, ``start_height_noise``,
    ``box``, ``spacing``, ``altitude``) are at most 1e4 m, as QuadHover-v0's.

    ## Cost per drone

    Every drone is a PyBullet body. Measured on a 2-core machine (pyb, rpm,
    defaults otherwise; ``reset`` is a second reset, ``step`` one step):

    | num_drones | build  | reset   | step    | peak memory |
    |------------|--------|---------|---------|-------------|
    | 10         | 0.04 s | <1 ms   | 1 ms    | 77 MiB      |
    | 100        | 0.2 s  | 1 ms    | 4 ms    | 84 MiB      |
    | 1,000      | 1.9 s  | 0.05 s  | 0.08 s  | 210 MiB     |
    | 10,000     | 30 s   | 2.5-6 s | 3.5 s   | 0.9 GiB     |

    Building loads one URDF per drone (~2 ms each, ~3 ms at 10,000). A reset
    writes every drone's pose, and Bullet's pose reset costs more the more
    bodies the world holds (~10 µs per drone at 500, ~0.6 ms at 10,000), so
    resets grow quadratically. The neighbour observation and the collision rule
    compare all pairs in blocks: O(n²) time, O(n) memory (before, 10,000 drones
    needed several (n, n, 3) arrays of 2.4 GB each, and a reset took ~40 s).

    ## Version History

    * v0: initial version; ``state()``, ``start_yaw_noise``, ``max_tilt`` and
      ``box`` added without changing the defaults' behaviour. Done drones
      leave the flight (they used to fall on with their motors off): live
      drones' episodes differ only after a collision with a wreck or under the
      downwash of one. ``end_together`` (default True) added: before, agents
      always left one by one, and the SuperSuit path failed without
      ``black_death_v3``. Pickling rebuilds the env from its arguments.
      Onboard cameras (``obs_type``, ``camera_*``; default ``"kin"``) added.
      Default ``physics`` ``"pyb"`` -> ``"pyb_dw"`` (issue 32): a drone under
      another now feels its downwash, as in the paper's multi-robot flight;
      formations at one height fly nearly as before (the PID on the default
      grid, 20 episodes: worst final error 0.021 -> 0.023 m, effort equal to
      0.1 %), as drones pass at slightly different heights.
    """

    metadata = {
        "name": "quad_swarm_v0",
        "render_modes": ["rgb_array"],
        "is_parallelizable": True,
        "render_fps": 30,
    }

    def __init__(
        self,
        num_drones: int = 4,
        formation: str | ArrayLike = "grid",
        spacing: float = 0.5,
        altitude: float = 1.0,
        k_neighbors: int = 2,
        drone_model: str = "cf2x",
        physics: str = "pyb_dw",
        physics_hz: int = 240,
        control_hz: int = 30,
        action_type: str = "rpm",
        episode_seconds: float = 8.0,
        collision_distance: float = 0.1,
        end_together: bool = True,
        start_xy_noise: float = 0.05,
        start_height: float = 0.0,
        start_height_noise: float = 0.0,
        start_tilt_noise: float = 0.0,
        start_vel_noise: float = 0.0,
        start_yaw_noise: float = 0.0,
        max_tilt: float = 1.2,
        box: float = 2.0,
        render_mode: str | None = None,
        render_width: int = 640,
        render_height: int = 480,
        task: str = "hover",
        perturb: Any = None,
        randomize: Any = None,
        motors: bool = False,
        action_history: int = 0,
        error_integral: float = 0.0,
        error_integral_radius: float | None = None,
        privileged: bool = False,
        obs_type: str = "kin",
        camera_width: int = 64,
        camera_height: int = 48,
        camera_fov: float = 60.0,
        camera_near: float = 0.1,
        camera_far: float = 20.0,
        camera_tilt: float = 0.0,
        camera_hz: int | None = None,
        camera_renderer: str = "auto",
        **options: Any,
    ) -> None:
        self.config = config = face_config(self, locals())
        self.swarm_config = swarm = SwarmConfig.from_arguments(locals())
        name = TEAM_ENVS.get(config.task, "quad_swarm_v0")
        self.metadata = {**self.metadata, "name": name}
        if config.render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(
                f"render_mode {config.render_mode!r} is not supported by {name}; "
                "allowed: None, 'rgb_array'"
            )
        n = self.num_drones = config.num_drones
        self.target = swarm.targets(n)
        self.k = swarm.k_neighbors
        self.collision_distance = swarm.collision_distance
        self.render_mode = config.render_mode
        self.episode = ep = Episode(
            config, options, n, env_name(self, name), over="every agent is done; call reset()"
        )
        self.task, self.task_options, self.controller = ep.task, ep.task_options, ep.controller
        self.max_steps, self.substeps, self.noise = ep.max_steps, ep.substeps, ep.noise
        self.world = World(
            config.model,
            n,
            config.physics,
            config.physics_hz,
            perturb=config.perturbations,
            randomize=config.randomization,
        )
        with self.world.closed_on_error():
            self.task.attach(self.world)
            self.start = self.target.copy()
            self.start[:, 2] = self.world.rest_height + config.start_height
            self._max_error = self.task.max_error(self.start, self.target)
            self.possible_agents = [f"drone_{i}" for i in range(n)]
            self._index = {a: i for i, a in enumerate(self.possible_agents)}
            span = 2 * self._max_error + 2 * swarm.spacing * n
            neigh = np.tile([span] * 3 + [2 * self.task.max_speed_obs] * 3, self.k)
            self._neigh_high = neigh.astype(np.float32).astype(np.float64)  # as the Box's
            self._obs_space = ep.observation_space(self._max_error, neigh)
            self._observer = Observer.of(self.world, config)  # None: "kin", the vector alone
            if self._observer is not None:
                self._obs_space = self._observer.space(self._obs_space)
            self._act_space = self.task.action_space()
            self.state_space = self._state_space()
        self.agents: list[str] = []
        self._live: set[str] = set()  # self.agents as a set, for checking actions
        self._alive = np.zeros(n, dtype=bool)
        self._camera: WorldCamera | None = None  # render()'s, made at the first frame

    def _state_space(self) -> gym.spaces.Box:
        """The Box of :meth:`state` (see the card's State table)."""
        p = float(np.abs(self.target).max()) + self._max_error
        v, w = self.task.max_speed_obs, self.task.max_rate_obs
        high = np.array([p] * 3 + [1.0] * 4 + [v] * 3 + [w] * 3 + [p] * 3 + [1.0], dtype=np.float32)
        low = -high
        low[-1] = 0.0
        n = self.num_drones
        return gym.spaces.Box(np.tile(low, n), np.tile(high, n), dtype=np.float32)

    def state(self) -> np.ndarray:
        """The global state, (17·num_drones,) float32: every drone's world position,
        quaternion, world velocity (m/s), world angular velocity (rad/s), target (m) and
        alive flag, whichever agents are alive; see the card's State table.

        Raises:
            gymnasium.error.ResetNeeded: before the first ``reset()``.
        """
        if self._state is None:
            raise gym.error.ResetNeeded("call reset() before state()")
        s = self._state
        ang_world = np.einsum("nij,nj->ni", quat_to_rot(s.quat), s.ang_vel)
        per_drone = [s.pos, s.quat, s.vel, ang_world, self.target, self._alive[:, None]]
        flat = np.concatenate(per_drone, axis=1).ravel()
        space = self.state_space
        return np.minimum(np.maximum(flat, space.low), space.high).astype(np.float32)

    def observation_space(self, agent: str) -> gym.spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> gym.spaces.Box:
        return self._act_space

    # ---------------------------------------------------------------- API
    def reset(self, seed: int | None = None, options: dict | None = None):
        self.episode.guard.reset()
        self._rng = (
            np.random.default_rng(seed)
            if seed is not None or not hasattr(self, "_rng")
            else self._rng
        )
        state = self.episode.draw(self._rng, np.arange(self.num_drones), self.start, self.target)
        self.world.reset(state, self._rng)
        self.episode.begin(state, self.target)
        self._alive[:] = True
        self.agents = list(self.possible_agents)
        self._live = set(self.agents)
        obs = self._observe()
        pick = self._pick(obs)
        return {a: pick(i) for i, a in enumerate(self.agents)}, {a: {} for a in self.agents}

    def step(self, actions: dict):
        ep = self.episode
        ep.guard.check_step()
        a = self._gather(actions)
        reward, ended, details, rpm = ep.advance(
            a, self.target, self.world.dt, self.world.rest_height, self._integrate
        )
        neighbours = self._neighbours()
        collided = self._collisions(neighbours)
        details["collided"] = collided
        details["rpm"] = rpm
        pick = self._pick(self._observe(neighbours))
        out_obs, rew, term, trunc, infos = {}, {}, {}, {}, {}
        done = []
        ended = ended | collided
        # a team episode: one drone down, every live agent is done (SuperSuit's vector env,
        # which PettingZoo's SB3 tutorial uses, needs the agents to leave together)
        truncated = self._steps >= self.max_steps or (
            self.swarm_config.end_together and bool((ended & self._alive).any())
        )
        ended = ended.tolist()
        reward_l = reward.tolist()
        columns = {key: value.tolist() for key, value in details.items()}
        for agent in self.agents:
            i = self._index[agent]
            out_obs[agent] = pick(i)
            rew[agent] = reward_l[i]
            term[agent] = ended[i]
            trunc[agent] = truncated and not ended[i]
            infos[agent] = {key: column[i] for key, column in columns.items()}
            if term[agent] or trunc[agent]:
                self._alive[i] = False
                done.append(i)
        if done:  # out of the flight where they ended: at rest, touching nothing
            ep.state = self.world.retire(done)
        self.agents = [ag for ag in self.agents if self._alive[self._index[ag]]]
        self._live = set(self.agents)
        ep.guard.end(not self.agents)
        return out_obs, rew, term, trunc, infos

    # The episode's state, where the task and the tests look for it.
    _state = property(lambda self: self.episode.state)
    _goal = property(lambda self: self.episode.goal)
    _last_action = property(lambda self: self.episode.last_action)
    _steps = property(lambda self: int(self.episode.steps[0]))

    @property
    def goal(self) -> np.ndarray:
        """(num_drones, 3) where the task asks each drone to be now, m."""
        return self._goal.copy()

    def _gather(self, actions: dict) -> np.ndarray:
        """The (num_drones, act_dim) action array of one action per live agent (zeros for
        done drones), checked: every live agent acts, no other does, each finite and of
        the agent's action shape.

        Raises:
            ValueError: naming the missing or extra agents, or the offending action.
        """
        if actions.keys() != self._live:
            missing = [a for a in self.agents if a not in actions]
            if missing:
                raise ValueError(
                    f"no action for live agent(s) {missing}; every agent in env.agents acts"
                )
            extra = [a for a in actions if a not in self._live]
            raise ValueError(f"action(s) for agent(s) {extra} that are not live (done or unknown)")
        a = np.zeros((self.num_drones, self.task.act_dim))
        try:  # fast path: one array, checked at once
            stacked = np.asarray(list(actions.values()), dtype=np.float64)
            ok = stacked.shape == (len(actions), self.task.act_dim) and all_finite(stacked)
        except (ValueError, TypeError):
            ok = False
        if not ok:  # find the offending agent for the message
            for agent, act in actions.items():
                check_actions(act, self._act_space.shape, f"action of {agent}")
        a[[self._index[agent] for agent in actions]] = stacked
        return a

    def _integrate(self, rpm: np.ndarray, k: int) -> State:
        self.world.step(rpm, k)  # the world ignores the motors of retired (done) drones
        return self.world.get_state()

    def _neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """Each drone's nearest live neighbours (at least one, for the collision rule):
        indices and squared distances, see
        :func:`~quadgym.envs.quad.tasks.neighbours.nearest_live`."""
        return nearest_live(self._state.pos, self._alive, max(self.k, 1))

    def _collisions(self, neighbours: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """(n,) bool: live drones closer than ``collision_distance`` to another live drone
        (the nearest live neighbour's squared distance; inf where there is none)."""
        return self._alive & (neighbours[1][:, 0] < self.collision_distance**2)

    def _pick(self, obs: Any) -> Any:
        """Drone i's observation of :meth:`_observe`'s: row i of the kinematic array, or
        with images (``obs_type``) its Box or dict of parts."""
        if self._observer is None:
            return obs.__getitem__
        return lambda i: self._observer.pick(obs, i)

    def _observe(self, neighbours: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
        """Every drone's observation: the task's, then its ``k`` nearest live neighbours'
        relative positions and velocities (zeros where fewer remain); with images
        (``obs_type``) {part: (n, ...)} of those and the cameras' frames."""
        if self._observer is not None:
            kin = self._observe_kin(neighbours) if "kin" in self._observer.parts else None
            return self._observer.observe(kin, self._state, self._steps)
        return self._observe_kin(neighbours)

    def _observe_kin(self, neighbours: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        """(n, o) every drone's kinematic observation (see :meth:`_observe`)."""
        tail = None
        if self.k:
            index, dist2 = self._neighbours() if neighbours is None else neighbours
            index, dist2 = index[:, : self.k], dist2[:, : self.k]
            n = self.num_drones
            kin = np.concatenate([self._state.pos, self._state.vel], axis=1)  # (n, 6)
            neigh = kin[index] - kin[:, None]  # (n, k', 6)
            found = np.isfinite(dist2)
            if not found.all():
                neigh[~found] = 0.0
            if neigh.shape[1] < self.k:  # fewer other drones than k
                pad = np.zeros((n, self.k - neigh.shape[1], 6))
                neigh = np.concatenate([neigh, pad], axis=1)
            tail = (neigh.reshape(n, -1), self._neigh_high)
        parameters = self.world.episode_parameters() if self.config.privileged else None
        return self.episode.observe(self._max_error, tail, self.world.motor_speeds(), parameters)

    def render(self):
        if self.render_mode == "rgb_array":
            if self._camera is None:
                self._camera = WorldCamera(self.world)
            size = self.config.render_width, self.config.render_height
            return self._camera.render(*size, set_points=getattr(self, "_goal", None))
        return None

    def close(self) -> None:
        """Release the PyBullet client; ``step()``/``reset()`` then raise ``EnvClosed``."""
        self.world.close()
        self.episode.guard.close()


def parallel_env(**kwargs: Any) -> SwarmEnv:
    """The ParallelEnv form."""
    return SwarmEnv(**kwargs)


def team_env(task: str) -> tuple[Any, Any, Any]:
    """The ``env``, ``raw_env`` and ``parallel_env`` of the PettingZoo module of a team
    task (:data:`TEAM_ENVS`): the swarm with ``task`` set."""

    def team_parallel_env(**kwargs: Any) -> SwarmEnv:
        return SwarmEnv(task=task, **kwargs)

    def team_raw_env(**kwargs: Any):
        return parallel_to_aec(team_parallel_env(**kwargs))

    def team_aec_env(**kwargs: Any):
        return wrappers.OrderEnforcingWrapper(team_raw_env(**kwargs))

    return team_aec_env, team_raw_env, team_parallel_env


def raw_env(**kwargs: Any):
    """The AEC form, through PettingZoo's own conversion."""
    return parallel_to_aec(parallel_env(**kwargs))


def env(**kwargs: Any):
    """The AEC form with PettingZoo's standard wrappers."""
    return wrappers.OrderEnforcingWrapper(raw_env(**kwargs))
