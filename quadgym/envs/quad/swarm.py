"""quad_swarm_v0: a PettingZoo ParallelEnv, one agent per drone, over the same world and task."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils import parallel_to_aec, wrappers

from quadgym.envs.quad.dynamics import State
from quadgym.envs.quad.models import get_model
from quadgym.envs.quad.tasks import HoverTask, StartNoise, check_actions, check_rates
from quadgym.envs.quad.world import World, parse_physics

FORMATIONS = ("line", "circle", "grid")


def formation_points(shape: Any, n: int, spacing: float, altitude: float) -> np.ndarray:
    """(n, 3) target points: a named shape centred on the origin at ``altitude`` m with
    neighbours ``spacing`` m apart, or an explicit (n, 3) array.

    Raises:
        ValueError: an unknown name, or an array that is not finite (n, 3).
    """
    if isinstance(shape, str):
        if shape == "line":
            xy = np.c_[(np.arange(n) - (n - 1) / 2) * spacing, np.zeros(n)]
        elif shape == "circle":
            radius = spacing / (2 * np.sin(np.pi / n)) if n > 1 else 0.0
            ang = 2 * np.pi * np.arange(n) / n
            xy = radius * np.c_[np.cos(ang), np.sin(ang)]
        elif shape == "grid":
            side = int(np.ceil(np.sqrt(n)))
            ij = np.c_[np.arange(n) % side, np.arange(n) // side].astype(float)
            xy = (ij - ij.mean(axis=0)) * spacing
        else:
            raise ValueError(
                f"unknown formation {shape!r}; allowed: {FORMATIONS} or an (N, 3) array"
            )
        return np.c_[xy, np.full(n, altitude)]
    pts = np.asarray(shape, dtype=float)
    if pts.shape != (n, 3) or not np.all(np.isfinite(pts)):
        raise ValueError(f"formation array must be finite with shape ({n}, 3), got {pts.shape}")
    return pts


class SwarmEnv(ParallelEnv):
    """
    ## Description

    ``num_drones`` drones in one PyBullet world, one PettingZoo agent each
    (``drone_0``, ...). Each drone must reach and hold its own point of a
    formation (``line``, ``circle``, ``grid`` or an (N, 3) array) without
    colliding. Drones start at rest on the ground below their targets (±
    ``start_xy_noise`` m), ``start_height`` m above it, or, with ``start_height_noise`` (and
    ``start_tilt_noise``, ``start_vel_noise``), anywhere up to that height.

    ## Observation (per agent)

    The QuadHover-v0 observation of the drone towards its own target, then,
    for each of its ``k_neighbors`` nearest neighbours (nearest first),
    their position and velocity relative to it (6 numbers each; zeros when
    fewer drones remain). Box, float32, bounded.

    ## Action (per agent)

    As QuadHover-v0: ``rpm`` (4) or ``pid`` (3).

    ## Rewards

    Each agent gets the hover reward of its own drone, 1 − distance/2 m
    floored at 0: independent of the other drones (except through physics,
    e.g. downwash in ``pyb_dw`` modes).

    ## Episode end

    An agent terminates when its drone crashes (tilt, box, ground impact as
    in QuadHover-v0) or comes within ``collision_distance`` m (centre to centre)
    of another live drone: both drones of a collision terminate. Terminated
    agents leave ``env.agents``; their drones' motors stop. All agents are
    truncated after ``episode_seconds``.

    ## Version History

    * v0: initial version.
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
        formation: Any = "grid",
        spacing: float = 0.5,
        altitude: float = 1.0,
        k_neighbors: int = 2,
        drone_model: str = "cf2x",
        physics: str = "pyb",
        physics_hz: int = 240,
        control_hz: int = 30,
        action_type: str = "rpm",
        episode_seconds: float = 8.0,
        collision_distance: float = 0.1,
        start_xy_noise: float = 0.05,
        start_height: float = 0.0,
        start_height_noise: float = 0.0,
        start_tilt_noise: float = 0.0,
        start_vel_noise: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        if not isinstance(num_drones, int | np.integer) or num_drones < 1:
            raise ValueError(f"num_drones must be an integer >= 1, got {num_drones!r}")
        if not isinstance(k_neighbors, int | np.integer) or k_neighbors < 0:
            raise ValueError(f"k_neighbors must be an integer >= 0, got {k_neighbors!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(
                f"render_mode {render_mode!r} not supported; allowed: None, 'rgb_array'"
            )
        parse_physics(physics)
        self.substeps = check_rates(physics_hz, control_hz)
        model = get_model(drone_model)
        n = self.num_drones = int(num_drones)
        self.k = int(k_neighbors)
        self.render_mode = render_mode
        self.task = HoverTask(model, action_type, control_hz)
        self.world = World(model, n, physics, physics_hz)
        self.target = formation_points(formation, n, spacing, altitude)
        self.start = self.target.copy()
        self.start[:, 2] = self.world.rest_height + float(start_height)
        self.collision_distance = float(collision_distance)
        self.noise = StartNoise(
            start_xy_noise, 0.0, start_tilt_noise, start_vel_noise, start_height_noise
        )
        self.max_steps = self.task.episode_steps(episode_seconds)
        self._max_error = self.task.max_error(self.start, self.target)
        self.possible_agents = [f"drone_{i}" for i in range(n)]
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        own = self.task.observation_space(self._max_error)
        span = 2 * self._max_error + 2 * spacing * n
        high = np.concatenate(
            [own.high, np.tile([span] * 3 + [2 * self.task.max_speed_obs] * 3, self.k)]
        ).astype(np.float32)
        self._obs_space = gym.spaces.Box(-high, high, dtype=np.float32)
        self._act_space = self.task.action_space()
        self.controller = self.task.make_controller(n)
        self.agents: list[str] = []
        self._alive = np.zeros(n, dtype=bool)

    def observation_space(self, agent: str) -> gym.spaces.Box:
        return self._obs_space

    def action_space(self, agent: str) -> gym.spaces.Box:
        return self._act_space

    # ---------------------------------------------------------------- API
    def reset(self, seed: int | None = None, options: dict | None = None):
        self._rng = (
            np.random.default_rng(seed)
            if seed is not None or not hasattr(self, "_rng")
            else self._rng
        )
        state = self.task.sample_start(self._rng, self.start, self.noise)
        self.world.reset(state)
        self._state = state
        if self.controller is not None:
            self.controller.reset()
        self._last_action = np.zeros((self.num_drones, self.task.act_dim))
        self._alive[:] = True
        self._steps = 0
        self.agents = list(self.possible_agents)
        obs = self._observe()
        return {a: obs[i] for i, a in enumerate(self.agents)}, {a: {} for a in self.agents}

    def step(self, actions: dict):
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(
                f"no action for live agent(s) {missing}; every agent in env.agents acts"
            )
        extra = [a for a in actions if a not in self.agents]
        if extra:
            raise ValueError(f"action(s) for agent(s) {extra} that are not live (done or unknown)")
        a = np.zeros((self.num_drones, self.task.act_dim))
        rows = [self._index[agent] for agent in actions]
        try:  # fast path: one array, checked at once
            stacked = np.asarray(list(actions.values()), dtype=np.float64)
            ok = stacked.shape == (len(rows), self.task.act_dim) and bool(
                np.isfinite(stacked).all()
            )
        except (ValueError, TypeError):
            ok = False
        if ok:
            a[rows] = stacked
        if not ok:  # find the offending agent for the message
            for agent, act in actions.items():
                check_actions(act, self._act_space.shape, f"action of {agent}")
        prev_vz = self._state.vel[:, 2].copy()
        dead = ~self._alive
        self._state, _ = self.task.control_step(
            a,
            self._state,
            self.target,
            self.controller,
            self.substeps,
            self.world.dt,
            lambda rpm, k: self._integrate(rpm, k, dead),
        )
        self._last_action = np.minimum(np.maximum(a, -1.0), 1.0)
        self._steps += 1
        crashed = self.task.crashed(self._state, self.target, prev_vz, self.world.rest_height)
        collided = self._collisions()
        reward = self.task.reward(self._state, self.target)
        obs = self._observe()
        out_obs, rew, term, trunc, infos = {}, {}, {}, {}, {}
        truncated = self._steps >= self.max_steps
        diff = self.target - self._state.pos
        error = np.sqrt(np.einsum("ni,ni->n", diff, diff)).tolist()
        ended = (crashed | collided).tolist()
        crashed_l, collided_l, reward_l = crashed.tolist(), collided.tolist(), reward.tolist()
        for agent in self.agents:
            i = self._index[agent]
            out_obs[agent] = obs[i]
            rew[agent] = reward_l[i]
            term[agent] = ended[i]
            trunc[agent] = truncated and not ended[i]
            infos[agent] = {
                "crashed": crashed_l[i],
                "collided": collided_l[i],
                "position_error": error[i],
            }
            if term[agent] or trunc[agent]:
                self._alive[i] = False
        self.agents = [ag for ag in self.agents if self._alive[self._index[ag]]]
        return out_obs, rew, term, trunc, infos

    def _integrate(self, rpm: np.ndarray, k: int, dead: np.ndarray) -> State:
        rpm = rpm.copy()
        rpm[dead] = 0.0  # a finished drone's motors are off
        self.world.step(rpm, k)
        return self.world.get_state()

    def _collisions(self) -> np.ndarray:
        """(n,) bool: live drones closer than ``collision_distance`` to another live drone."""
        pos = self._state.pos
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
        alive = self._alive[:, None] & self._alive[None, :]
        np.fill_diagonal(d, np.inf)
        return ((d < self.collision_distance) & alive).any(axis=1)

    def _observe(self) -> np.ndarray:
        own = self.task.observe(self._state, self.target, self._last_action, self._max_error)
        if self.k == 0:
            return own
        n = self.num_drones
        rel_p = self._state.pos[None] - self._state.pos[:, None]  # [i, j] = p_j − p_i
        rel_v = self._state.vel[None] - self._state.vel[:, None]
        dist = np.einsum("ijk,ijk->ij", rel_p, rel_p)  # squared: only the order matters
        dist[:, ~self._alive] = np.inf
        np.fill_diagonal(dist, np.inf)
        order = np.argsort(dist, axis=1)[:, : self.k]
        rows = np.arange(n)[:, None]
        neigh = np.concatenate([rel_p[rows, order], rel_v[rows, order]], axis=-1)  # (n, k', 6)
        valid = np.isfinite(dist[rows, order])[..., None]
        neigh = np.where(valid, neigh, 0.0)
        if neigh.shape[1] < self.k:
            neigh = np.concatenate([neigh, np.zeros((n, self.k - neigh.shape[1], 6))], axis=1)
        high = self._obs_space.high[own.shape[1] :]
        flat = np.clip(neigh.reshape(n, -1), -high, high)
        return np.concatenate([own, flat], axis=1).astype(np.float32)

    def render(self):
        if self.render_mode == "rgb_array":
            return self.world.render(target=tuple(self.target.mean(axis=0) * [1, 1, 0.6]))
        return None

    def close(self) -> None:
        self.world.close()


def parallel_env(**kwargs: Any) -> SwarmEnv:
    """The ParallelEnv form."""
    return SwarmEnv(**kwargs)


def raw_env(**kwargs: Any):
    """The AEC form, through PettingZoo's own conversion."""
    return parallel_to_aec(parallel_env(**kwargs))


def env(**kwargs: Any):
    """The AEC form with PettingZoo's standard wrappers."""
    return wrappers.OrderEnforcingWrapper(raw_env(**kwargs))
