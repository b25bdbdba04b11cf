"""Tasks: what a drone is asked to do, independent of how it is simulated.

A task builds the per-drone observation and action spaces, turns actions into
motor speeds, and computes observation, reward and termination, all on arrays
with a leading batch axis (one row per drone). The same task object serves the
three faces of an environment: the single-agent ``gymnasium.Env``, the
PettingZoo ``ParallelEnv`` (one agent per drone) and the batched vector env.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from quadgym.envs.quad.control.pid import CascadedPID
from quadgym.envs.quad.sim.columns import COLUMNS, FLOATS, FLOATS_UP_TO, rotation
from quadgym.envs.quad.sim.dynamics import State, euler_to_quat, quat_to_rot
from quadgym.envs.quad.sim.models import DroneModel
from quadgym.envs.quad.sim.perturb import Perturbations, Randomization
from quadgym.envs.quad.tasks.actions import (  # noqa: F401 - ACTION_TYPES, check_action_type re-exported
    ACTION_TYPES,
    ActionMap,
    check_action_type,
)

#: Named target formations of the multi-drone tasks.
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


def check_rates(physics_hz: int, control_hz: int) -> int:
    """Physics substeps per control step; both rates must be positive integers and the
    control rate must divide the physics rate."""
    for name, value in (("physics_hz", physics_hz), ("control_hz", control_hz)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive integer (Hz), got {value!r}")
    if physics_hz % control_hz:
        raise ValueError(
            f"control_hz={control_hz} does not divide physics_hz={physics_hz}; choose a control "
            f"rate among the divisors of {physics_hz}, e.g. "
            f"{[d for d in (10, 24, 30, 40, 48, 60, 80, 120, 240) if physics_hz % d == 0]}"
        )
    return physics_hz // control_hz


#: Up to this many entries :func:`all_finite` tests finiteness on Python floats.
SMALL_ACTION = 16


def all_finite(a: np.ndarray) -> bool:
    """Whether every entry of the float array ``a`` is finite (no NaN, no ±inf): on Python
    floats for a few entries (NumPy's ``isfinite().all()`` costs ~1.5 µs a call), in NumPy
    beyond :data:`SMALL_ACTION`."""
    if a.size <= SMALL_ACTION:
        return all(map(math.isfinite, a.ravel().tolist()))
    return bool(np.isfinite(a).all())


def check_actions(action: np.ndarray, shape: tuple[int, ...], what: str = "action") -> np.ndarray:
    """``action`` as a float array of exactly ``shape``, finite.

    Raises:
        ValueError: for a wrong shape or a NaN/inf entry; the message names both.
    """
    a = np.asarray(action, dtype=np.float64)
    if a.shape != shape:
        raise ValueError(f"{what} has shape {a.shape}; expected {shape}")
    if not all_finite(a):
        bad = np.argwhere(~np.isfinite(a))
        raise ValueError(
            f"{what} holds non-finite values (NaN or inf) at index {bad[0].tolist()}; "
            "actions must be finite numbers in [-1, 1]"
        )
    return a


@dataclass(frozen=True)
class StartNoise:
    """Perturbations of a start state, each drawn uniformly: ±``xy`` m in x and y,
    ±``yaw`` rad of yaw, ±``tilt`` rad of roll and pitch, ±``vel`` m/s per velocity
    axis, and an extra height in [0, ``height``] m."""

    xy: float = 0.1
    yaw: float = 0.3
    tilt: float = 0.0
    vel: float = 0.0
    height: float = 0.0


@dataclass
class HoverTask:
    """Reach and hold a target point.

    Args:
        model: the airframe.
        action_type: one of :data:`~quadgym.envs.quad.tasks.actions.ACTION_TYPES`, see
            the table of :mod:`quadgym.envs.quad.tasks.actions`. ``"rpm"``: per-motor
            speeds, a ∈ [-1, 1]⁴ maps to ω = ω_hover·(1 + rpm_scale·a), so 0 is
            hover and ±1 spans [ω_hover·(1 − rpm_scale), ω_hover·(1 + rpm_scale)]
            (the default 0.5 reaches exactly the maximum RPM of a
            thrust-to-weight 2.25 frame). ``"pid"``: a position set-point,
            target + pid_range·a (m), a ∈ [-1, 1]³, tracked by the cascaded PID.
        control_hz: control rate (the PID's period), Hz.
        box: half-width of the flight box around the target (m); leaving it
            ends the episode.
        max_tilt: tilt of body z from vertical beyond which the drone has
            crashed, rad.
        impact_speed: downward speed (m/s) at which touching the ground is a
            crash rather than a landing.
        rpm_scale, pid_range, vel_limit: see ``action_type`` (m, m/s).
        max_speed_obs, max_rate_obs: bounds of the velocity (m/s) and body-rate
            (rad/s) entries of the observation; values beyond saturate there.
    """

    model: DroneModel
    action_type: str = "rpm"
    control_hz: int = 30
    box: float = 2.0
    max_tilt: float = 1.2
    impact_speed: float = 1.0
    rpm_scale: float = 0.5
    pid_range: float = 1.0
    vel_limit: float = 1.0
    max_speed_obs: float = 10.0
    max_rate_obs: float = 30.0
    #: Distance at which the step reward reaches 0, m (see :meth:`judge`).
    reward_scale: float = 2.0
    #: The perturbations the task applies (sensor noise, action delay; see
    #: :mod:`quadgym.envs.quad.sim.perturb`); the world applies the physical ones.
    perturb: Perturbations | None = None
    #: The onboard camera's model (:class:`~quadgym.envs.quad.sensors.camera.CameraModel`):
    #: a task that places things in view needs it (QuadVisualReach-v0). Hover: unused.
    camera: Any = None
    #: Whether the observation carries the four motor speeds (the faces' ``motors=True``):
    #: each as speed / hover speed − 1 (0 at hover; 0 before the first command of an
    #: episode, which the motors take at once), after the previous action.
    motor_obs: bool = False
    #: Memory in the observation (the faces' ``action_history``): the k actions before the
    #: previous one, newest first, after the task's own entries.
    action_history: int = 0
    #: Memory in the observation (the faces' ``error_integral``): the leak time constant τ,
    #: s, of the observed integral of the position error (0: none); after the actions.
    error_integral: float = 0.0
    #: Its anti-windup (the faces' ``error_integral_radius``): the error is added only within
    #: this distance of the goal, m (None: always).
    error_integral_radius: float | None = None
    #: Per-episode ranges (:class:`~quadgym.envs.quad.sim.perturb.Randomization`): the task
    #: draws each drone's sensor noise and action delay at its episode's start.
    randomize: Randomization | None = None
    #: Which way each metric of :meth:`summarize` is better ("min", "max"; None: neither).
    metric_goals: ClassVar[dict[str, str | None]] = {
        "final_error": "min",
        "time_to_target": "min",
        "crashed": "min",
        "seconds": None,
        "effort": "min",
    }
    #: What :meth:`success` asks of an episode, in words (scripts/evaluate.py's headline).
    success_rule: ClassVar[str] = "final error < 0.10 m, no crash"

    def __post_init__(self) -> None:
        self.actions = ActionMap(
            self.model, self.action_type, self.rpm_scale, self.pid_range, self.vel_limit
        )
        self.act_dim = self.actions.dim
        self.extra_dim = 0  # a task with observation entries of its own sets it
        self.motor_dim = 4 if self.motor_obs else 0
        self.memory_dim = self.action_history * self.act_dim + (3 if self.error_integral else 0)
        #: Index of the task's own entries (:meth:`extra_observation`) in the observation.
        self.extra_start = 18 + self.act_dim + self.motor_dim
        self.obs_dim = 3 + 9 + 3 + 3 + self.act_dim + self.motor_dim + self.memory_dim
        dt, tau = 1.0 / self.control_hz, self.error_integral
        self._leak = float(np.exp(-dt / tau)) if tau else 0.0
        # |I| of a constant error e tends to e·dt / (1 − leak) (≈ τ·e): the integral's bound
        self._integral_reach = dt / (1.0 - self._leak) if tau else 0.0
        # Body z's world z is 1 − 2(x² + y²) for a unit quaternion (x, y, z, w): tilted
        # beyond max_tilt when x² + y² exceeds (1 − cos max_tilt) / 2.
        self._tilt_xy2 = float((1.0 - np.cos(self.max_tilt)) / 2.0)
        self._high_cache: tuple[float | None, np.ndarray | None] = (None, None)
        p, r = self.perturb or Perturbations(), self.randomize or Randomization()
        self._delay, self._obs_noise = p.action_delay, p.obs_noise
        self._random = tuple(k for k in ("obs_noise", "action_delay") if getattr(r, k))
        if r.action_delay:  # the queue holds the longest delay; each drone reads its own
            self._delay = int(r.action_delay[1])
        self._delays: np.ndarray | None = None  # (n,) drawn delays, steps (randomize)
        self._noise_std: np.ndarray | None = None  # (n, 1) drawn noise std (randomize)
        self._queue = np.zeros((self._delay, 0, self.act_dim))  # delayed actions, oldest first
        self._noise_rng: np.random.Generator | None = None

    # ----------------------------------------------------------------- spaces
    def action_space(self) -> spaces.Box:
        """One drone's action space."""
        return self.actions.space()

    def observation_space(self, max_error: float) -> spaces.Box:
        """One drone's observation space; ``max_error`` bounds the position error (m)."""
        high = self._obs_high(max_error)
        return spaces.Box(-high, high, dtype=np.float32)

    def _obs_high(self, max_error: float) -> np.ndarray:
        if self._high_cache[0] == max_error:
            return self._high_cache[1]
        radius = self.error_integral_radius
        reach = max_error if radius is None else min(max_error, radius)  # largest integrated |e|
        high = np.concatenate(
            [
                np.full(3, max_error),
                np.ones(9),
                np.full(3, self.max_speed_obs),
                np.full(3, self.max_rate_obs),
                np.ones(self.act_dim),
                np.full(self.motor_dim, self.model.max_rpm / self.model.hover_rpm),
                self.extra_bounds(max_error),
                np.ones(self.action_history * self.act_dim),
                np.full(3 if self.error_integral else 0, self._integral_reach * reach),
            ]
        ).astype(np.float32)
        self._high_cache = (max_error, high)
        return high

    def max_error(self, start: np.ndarray, target: np.ndarray) -> float:
        """Largest position error an episode from ``start`` to ``target`` can show
        before it ends by leaving the box, m."""
        return float(np.abs(np.asarray(target) - np.asarray(start)).max() + self.box + 0.5)

    # ---------------------------------------------------------------- actions
    def make_controller(self, num_drones: int) -> CascadedPID | None:
        """The inner controller this action type needs (None for the ``rpm`` types)."""
        return self.actions.make_controller(num_drones)

    def inner_loop(self, substeps: int) -> tuple[int, int]:
        """(motor-command updates, physics substeps each) of one control step: see
        :meth:`ActionMap.inner_loop <quadgym.envs.quad.tasks.actions.ActionMap.inner_loop>`."""
        return self.actions.inner_loop(substeps)

    def control_step(
        self,
        action: np.ndarray,
        state: State,
        target: np.ndarray,
        controller: CascadedPID | None,
        substeps: int,
        dt: float,
        integrate: Callable[[np.ndarray, int], State],
    ) -> tuple[State, np.ndarray]:
        """Apply finite actions (n, act_dim), already clipped to [-1, 1], for one control
        step of ``substeps`` physics steps of ``dt`` s; ``integrate(rpm, k)`` advances the
        physics k steps and returns the new state. Returns the state and the last motor speeds.
        The one loop every face of the environment runs."""
        if self._delays is not None and self._delay:  # each drone's own drawn delay
            window = np.concatenate([self._queue, action[None]])
            applied = window[self._delay - self._delays, np.arange(len(action))]
            self._queue = window[1:]
            action = applied
        elif self._delay:  # the action of ``action_delay`` steps ago takes effect now
            applied = self._queue[0].copy()
            self._queue[:-1] = self._queue[1:]
            self._queue[-1] = action
            action = applied
        updates, hold = self.inner_loop(substeps)
        rpm, command = None, self.actions.commander(action, target, controller)
        for _ in range(updates):
            rpm = command(state, hold * dt)
            state = integrate(rpm, hold)
        return state, rpm

    # ----------------------------------------------------------- observations
    def observe(
        self,
        state: State,
        target: np.ndarray,
        last_action: np.ndarray,
        max_error: float,
        steps: np.ndarray | None = None,
        tail: tuple[np.ndarray, np.ndarray] | None = None,
        motors: np.ndarray | None = None,
        memory: np.ndarray | None = None,
    ) -> np.ndarray:
        """(n, obs_dim) float32: [target − position (3), rotation matrix body→world
        row-major (9), world velocity (3), body rates (3), previous action (act_dim)],
        then with :attr:`motor_obs` the motor speeds ``motors`` (n, 4) RPM (NaN: not yet
        commanded this episode) as speed / hover speed − 1, then the task's own entries
        (:meth:`extra_observation`, none for hover), then the ``memory`` (n, memory_dim)
        of :attr:`action_history` and :attr:`error_integral` (the episode core's
        :meth:`~quadgym.envs.quad.episode.Episode.memory`), then a face's own ``tail`` =
        (entries (n, t), their bounds (t,)) if given (the swarm's neighbours), each
        saturated at its bounds. ``target`` is the current goal
        (:meth:`goal`), ``steps`` (n,) the control steps taken in each drone's episode."""
        if len(state) <= FLOATS_UP_TO:  # floats: a third of quat_to_rot's time at one drone
            rot = np.array([rotation(*q) for q in state.quat.tolist()])
        else:
            rot = quat_to_rot(state.quat).reshape(-1, 9)
        parts = [target - state.pos, rot, state.vel, state.ang_vel, last_action]
        if self.motor_dim:
            parts.append(np.nan_to_num(motors / self.model.hover_rpm - 1.0, nan=0.0))
        if self.extra_dim:
            parts.append(self.extra_observation(state, target, steps))
        if self.memory_dim:
            parts.append(memory)
        high = self._obs_high(max_error)
        if tail is not None:
            parts.append(tail[0])
            high = np.concatenate([high, tail[1]])
        obs = np.concatenate(parts, 1)
        std = self._obs_noise if self._noise_std is None else self._noise_std
        if self._noise_std is not None or std:  # sensor noise, from the episode's generator
            obs += self._noise_rng.normal(0.0, std, obs.shape)
        np.minimum(np.maximum(obs, -high, out=obs), high, out=obs)
        return obs.astype(np.float32)

    def sensing_parameters(self, n: int) -> np.ndarray:
        """(n, 2) each drone's sensor-noise std and action delay (control steps) this
        episode: drawn (``randomize``) or ``perturb``'s."""
        std = np.full((n, 1), self._obs_noise) if self._noise_std is None else self._noise_std
        delay = np.full(n, self._delay) if self._delays is None else self._delays
        return np.c_[std, delay].astype(float)

    def integrate_error(self, integral: np.ndarray, error: np.ndarray) -> np.ndarray:
        """The observed error integral (n, 3), m·s, one control step of Δt s on:
        e^(−Δt/τ)·``integral`` + Δt·``error`` (the position error (n, 3) after the step, m;
        τ: :attr:`error_integral`), the error added only where its norm is within
        :attr:`error_integral_radius`. A constant error e leads it to e·Δt / (1 − e^(−Δt/τ)),
        about τ·e; the observation saturates it there for the largest error."""
        radius = self.error_integral_radius
        if radius is not None:
            error = np.where(np.linalg.norm(error, axis=1, keepdims=True) <= radius, error, 0.0)
        return self._leak * integral + error / self.control_hz

    def extra_observation(self, state: State, target: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """(n, extra_dim) task-specific observation entries (hover has none)."""
        return np.zeros((len(state), 0))

    def extra_bounds(self, max_error: float) -> np.ndarray:
        """(extra_dim,) bounds of :meth:`extra_observation`'s entries."""
        return np.zeros(0)

    # --------------------------------------------------------- reward and end
    def attach(self, world: Any) -> None:
        """Load what the task needs into a face's PyBullet ``world`` (once, before the
        first reset): QuadGates-v0's gates and pillars. Hover: nothing."""

    def progress(self, state: State) -> None:
        """Update what the task tracks along an episode from the state after a control
        step, before :meth:`goal` and :meth:`judge` (gates passed). Hover: nothing."""

    def goal(self, target: np.ndarray, steps: np.ndarray, state: State | None = None) -> np.ndarray:
        """(n, 3) where each drone is asked to be after ``steps`` (n,) control steps of
        its episode, m; ``target`` is the face's (n, 3) nominal target, ``state`` the
        drones' state then (a goal may follow another drone). Hover: the target itself,
        at every step."""
        return target

    def judge(
        self,
        state: State,
        goal: np.ndarray,
        prev_vz: np.ndarray,
        rest_height: float,
        steps: np.ndarray,
        max_steps: int,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Reward (n,), termination (n,) bool and per-drone info arrays of the state
        reached after ``steps`` (n,) control steps of an episode of ``max_steps``;
        ``goal`` is :meth:`goal` at ``steps``, ``prev_vz`` (n,) the vertical speeds
        of the step before (m/s).

        The reward is 1 − distance/``reward_scale`` (hover: 2 m), floored at 0
        (linear in the distance so that the gradient does not vanish far from the
        goal, a take-off starts 1 m away; positive, so that ending the episode early
        by crashing always costs the reward not collected); the episode ends on a
        crash (:meth:`crashed`). Info: ``position_error`` (m) and ``crashed``.
        """
        reward, crashed, dist = self._judge_rows(state, goal, prev_vz, rest_height)
        return reward, crashed, {"position_error": dist, "crashed": crashed}

    def _judge_rows(
        self, state: State, goal: np.ndarray, prev_vz: np.ndarray, rest_height: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(reward, crashed, distance) (n,) of :meth:`judge` and :meth:`crashed`, by
        :meth:`_judge_terms` on Python floats drone by drone up to
        :data:`~quadgym.envs.quad.sim.columns.FLOATS_UP_TO` drones (NumPy's ~1 µs a call
        made this small-array arithmetic ~15 % of a one-drone ``rpm`` step), beyond on
        NumPy columns: the same numbers (tests/test_columns.py)."""
        if len(state) <= FLOATS_UP_TO:
            rows = zip(
                state.pos.tolist(),
                state.quat.tolist(),
                goal.tolist(),
                prev_vz.tolist(),
                strict=True,
            )
            terms = [self._judge_terms(FLOATS, p, q, g, vz, rest_height) for p, q, g, vz in rows]
            reward, crashed, dist = zip(*terms, strict=True)
            return np.array(reward), np.array(crashed, dtype=bool), np.array(dist)
        return self._judge_terms(COLUMNS, state.pos.T, state.quat.T, goal.T, prev_vz, rest_height)

    def _judge_terms(
        self, xp: SimpleNamespace, pos: Any, quat: Any, goal: Any, prev_vz: Any, rest_height: float
    ) -> tuple[Any, Any, Any]:
        """Reward, crash and distance to the goal of one drone's floats or n drones'
        columns (``pos``, ``goal``: x, y, z, m; ``quat``: x, y, z, w; ``prev_vz``: m/s), the
        rules of :meth:`judge` and :meth:`crashed`."""
        ex, ey, ez = goal[0] - pos[0], goal[1] - pos[1], goal[2] - pos[2]
        # summed in the order NumPy 2's einsum takes over three entries (the numbers it gave)
        dist = xp.sqrt((ex * ex + ez * ez) + ey * ey)
        lost = dist != dist  # a NaN position: the simulation blew up (max() ignores NaN)
        reward = xp.where(lost, 0.0, xp.maximum(0.0, 1.0 - dist / self.reward_scale))
        qx, qy = quat[0], quat[1]
        tilted = qx * qx + qy * qy > self._tilt_xy2
        # Below the target the ground bounds the box, so z counts only upwards.
        outside = xp.maximum(xp.maximum(abs(ex), abs(ey)), -ez) > self.box
        impact = (pos[2] < rest_height + 0.005) & (prev_vz < -self.impact_speed)
        return reward, tilted | outside | impact | lost, dist

    def position_error(self, state: State, goal: np.ndarray) -> np.ndarray:
        """(n,) the distance :meth:`judge` reports as ``position_error``, m, for a face's
        reset info. Hover: to the goal."""
        return self._judge_rows(state, goal, np.zeros(len(state)), np.inf)[2]  # (crash unused)

    def summarize(self, infos: list[dict[str, Any]]) -> dict[str, float]:
        """An episode's metrics from its steps' infos (one drone's, scalars). Hover:
        ``final_error`` (m), ``time_to_target`` (s until within 0.10 m; inf if never),
        ``crashed`` (0 or 1) and ``seconds`` flown."""
        errors = np.array([info["position_error"] for info in infos], dtype=float)
        within = np.flatnonzero(errors < 0.10)
        return {
            "final_error": float(errors[-1]),
            "time_to_target": float((within[0] + 1) / self.control_hz) if within.size else np.inf,
            **self._episode(infos),
        }

    def success(self, metrics: dict[str, float]) -> bool:
        """Whether the episode :meth:`summarize` scored as ``metrics`` did what the task
        asks (:attr:`success_rule`). Hover: it ended within 0.10 m of the goal, uncrashed."""
        return metrics["final_error"] < 0.10 and not metrics["crashed"]

    #: Which way each metric of :meth:`summarize_team` is better.
    team_metric_goals: ClassVar[dict[str, str | None]] = {
        "completed": "max",
        "collided": "min",
        "crashed": "min",
        "max_final_error": "min",
        "seconds": None,
        "effort": "min",
    }

    def summarize_team(self, infos: list[dict[str, dict[str, Any]]]) -> dict[str, float]:
        """A PettingZoo episode's metrics from its steps' infos (per agent, as ``step``
        returns them): ``completed`` (1 if every drone ended within 0.10 m of its goal, none
        crashed or collided), ``collided`` and ``crashed`` (1 if any drone did),
        ``max_final_error`` (the worst drone's distance to its goal at its last step, m),
        ``seconds`` the team flew, ``effort`` (:meth:`_episode`'s, mean over drones)."""
        per_drone: dict[str, list[dict[str, Any]]] = {}
        for step in infos:
            for agent, info in step.items():
                per_drone.setdefault(agent, []).append(info)
        crashed = any(i["crashed"] for own in per_drone.values() for i in own)
        collided = any(i.get("collided", False) for own in per_drone.values() for i in own)
        worst = max(own[-1]["position_error"] for own in per_drone.values())
        efforts = [self._episode(own)["effort"] for own in per_drone.values()]
        return {
            "completed": float(not crashed and not collided and worst < 0.10),
            "collided": float(collided),
            "crashed": float(crashed),
            "max_final_error": float(worst),
            "seconds": len(infos) / self.control_hz,
            "effort": float(np.mean(efforts)),
        }

    def _episode(self, infos: list[dict[str, Any]]) -> dict[str, float]:
        """The metrics every task reports: ``crashed`` (0 or 1), ``seconds`` flown and
        ``effort``: the integral of the motors' squared speeds, Σ_i ω_i² dt, in units of
        the hover speed (so a drone hovering for 1 s scores 4); NaN where the infos
        carry no motor speeds."""
        crashed = any(info["crashed"] for info in infos)
        speeds = [info["rpm"] for info in infos if "rpm" in info]
        effort = np.nan
        if len(speeds) == len(infos):
            squares = np.square(np.asarray(speeds, dtype=float) / self.model.hover_rpm)
            drones = squares.size // (4 * len(speeds))  # (steps, [drones,] 4 motors)
            effort = float(squares.sum() / drones / self.control_hz)
        return {
            "crashed": float(crashed),
            "seconds": len(infos) / self.control_hz,
            "effort": effort,
        }

    def crashed(
        self, state: State, target: np.ndarray, prev_vz: np.ndarray, rest_height: float
    ) -> np.ndarray:
        """(n,) bool: tilted beyond ``max_tilt``, out of the box, hit the ground, or lost (a
        NaN position: the simulation blew up; its reward is 0).

        Hitting the ground means touching it (centre within 5 mm of its resting
        height) after descending faster than ``impact_speed`` at the previous
        control step; a slow landing is not a crash.
        """
        return self._judge_rows(state, target, prev_vz, rest_height)[1]

    # ------------------------------------------------------------ start state
    def episode_steps(self, seconds: float) -> int:
        """Control steps in an episode of ``seconds`` s."""
        if seconds <= 0:
            raise ValueError(f"episode_seconds must be > 0, got {seconds!r}")
        return int(round(seconds * self.control_hz))

    def start_episode(
        self,
        rng: np.random.Generator,
        rows: np.ndarray,
        start: np.ndarray,
        target: np.ndarray,
        noise: StartNoise,
    ) -> State:
        """What every face calls at a reset of the drones ``rows``: the perturbations'
        bookkeeping (an empty action queue, the sensor noise's generator), then the
        task's own :meth:`episode_start`."""
        n = len(target)
        if self._queue.shape[1] != n:
            self._queue = np.zeros((self._delay, n, self.act_dim))
        self._queue[:, rows] = 0.0
        self._noise_rng = rng
        if self._random:  # this episode's sensor noise and delay, per drone
            if self._noise_std is None or len(self._noise_std) != n:
                self._delays = np.full(n, self._delay) if "action_delay" in self._random else None
                self._noise_std = np.full((n, 1), self._obs_noise)
            draws = self.randomize.draw(rng, self._random, len(rows))
            if "action_delay" in draws:
                self._delays[rows] = draws["action_delay"]
            if "obs_noise" in draws:
                self._noise_std[rows, 0] = draws["obs_noise"]
        return self.episode_start(rng, rows, start, target, noise)

    def episode_start(
        self,
        rng: np.random.Generator,
        rows: np.ndarray,
        start: np.ndarray,
        target: np.ndarray,
        noise: StartNoise,
    ) -> State:
        """Start states of the drones ``rows`` (indices) for a new episode, drawing what
        the task varies per episode; ``start`` and ``target`` are the face's nominal
        (n, 3) points, m. Hover varies nothing but the start noise around ``start``."""
        return self.sample_start(rng, start[rows], noise)

    def sample_start(
        self, rng: np.random.Generator, nominal: np.ndarray, noise: StartNoise
    ) -> State:
        """Start states around ``nominal`` (n, 3) positions, perturbed by ``noise``."""
        n = nominal.shape[0]
        state = State.at_rest(nominal)
        state.pos[:, :2] += rng.uniform(-noise.xy, noise.xy, size=(n, 2))
        if noise.height > 0:
            state.pos[:, 2] += rng.uniform(0.0, noise.height, size=n)
        rpy = np.zeros((n, 3))
        rpy[:, :2] = rng.uniform(-noise.tilt, noise.tilt, size=(n, 2))
        rpy[:, 2] = rng.uniform(-noise.yaw, noise.yaw, size=n)
        state.quat = euler_to_quat(rpy)
        state.vel += rng.uniform(-noise.vel, noise.vel, size=(n, 3))
        return state
