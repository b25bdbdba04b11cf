"""The episode core under the three faces: construction and the step order, written once.

A face (:mod:`.single`, :mod:`.swarm`, :mod:`.vector`) keeps its explicit constructor
signature (for IDEs, pickling and Gymnasium's checker) and builds its
:class:`~quadgym.envs.quad.config.QuadConfig`; :class:`Episode` then makes, in this order and
from that config alone, the task (with the face's ``**options`` checked by the task's own
options config), the controller the action type needs, the lifecycle guard and the step
limit. What differs between faces is only how they integrate (a PyBullet world or NumPy
lanes) and how they shape what they return.

Per row (a drone, or a lane of the vector face) the core holds the episode's state, the
goal the task asks for now, the control steps taken and the last action, and one
:meth:`Episode.advance` runs the step order every face shares::

    control step (the task's action map, the controller, ``integrate``)
    -> the last action, clipped -> steps + 1 -> task.progress -> task.goal -> task.judge

so a rule of the order (say, that the goal is updated before the reward is judged) is
stated once and holds on every face.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle

from quadgym.envs.lifecycle import EpisodeGuard
from quadgym.envs.quad.config import QuadConfig
from quadgym.envs.quad.sim.columns import COLUMNS
from quadgym.envs.quad.sim.dynamics import State, quat_to_rot
from quadgym.envs.quad.sim.perturb import MAX_DELAY, PARAMETERS, PARAMETERS_HIGH
from quadgym.envs.quad.tasks.suite import task_options

#: The privileged vector (the faces' ``privileged=True``, appended to each drone's
#: observation): the true state (goal − position, rotation matrix, velocity, body rates:
#: the observation's first 18 entries without sensor noise), the fraction of the episode
#: flown, the episode's physical parameters
#: (:data:`~quadgym.envs.quad.sim.perturb.PARAMETERS`), its sensor-noise std and its
#: action delay (control steps). Told to an asymmetric critic in training, never to a
#: policy that is to fly a real drone.
PRIVILEGED = (
    *(f"error_{a}" for a in "xyz"),
    *(f"rot_{i}{j}" for i in range(3) for j in range(3)),
    *(f"vel_{a}" for a in "xyz"),
    *(f"rate_{a}" for a in "xyz"),
    "time",
    *PARAMETERS,
    "obs_noise",
    "action_delay",
)


def face_config(face: Any, arguments: dict[str, Any]) -> QuadConfig:
    """The validated :class:`QuadConfig` of a PyBullet face's constructor ``arguments``
    (its ``locals()``: the named arguments and ``options``), with the face made picklable by
    them (``EzPickle``: a PyBullet world cannot be pickled, so a pickled env is rebuilt from
    its arguments, as SuperSuit and Gymnasium copy envs)."""
    named = {k: v for k, v in arguments.items() if k not in ("self", "options", "__class__")}
    EzPickle.__init__(face, **named, **arguments.get("options", {}))
    return QuadConfig.from_arguments(named)


class Episode:
    """The construction and step order of ``rows`` drones' (or lanes') episodes.

    Args:
        config: the face's validated arguments.
        options: the task's own keywords (checked here, before anything is built).
        rows: drones (single and swarm faces) or lanes (vector face).
        name: the env's name in lifecycle errors (e.g. "QuadTrack-v0"), or a function
            giving it when a message is made (:func:`~quadgym.envs.lifecycle.env_name`).
        **guard: :class:`~quadgym.envs.lifecycle.EpisodeGuard`'s keywords.

    Raises:
        ValueError: an option the task does not take, or a controller the drone model
            has no gains for (the racer's PID).
    """

    def __init__(
        self,
        config: QuadConfig,
        options: dict[str, Any],
        rows: int,
        name: str | Callable[[], str],
        **guard: Any,
    ) -> None:
        self.config = config
        face_args = [f.name for f in dataclasses.fields(config)]
        self.task_options = task_options(config.task, options, face_args)
        self.task = config.make_task(self.task_options)
        self.substeps, self.noise = config.substeps, config.start_noise
        self.max_steps = self.task.episode_steps(config.episode_seconds)
        self.controller = self.task.make_controller(rows)  # raises for the racer's PID
        self.guard = EpisodeGuard(name, **guard)
        self.rows = rows
        self.state: State | None = None
        self.goal: np.ndarray | None = None
        self.steps = np.zeros(rows, dtype=np.int64)
        self.last_action = np.zeros((rows, self.task.act_dim))
        # memory observed with action_history / error_integral: the k actions before the
        # last, newest first, and the position error's leaky integral, m·s
        self.history = np.zeros((rows, self.task.action_history, self.task.act_dim))
        self.integral = np.zeros((rows, 3))
        self._high_cache: tuple[float, np.ndarray] | None = None  # (max_error, bounds)

    def draw(
        self, rng: np.random.Generator, rows: np.ndarray, start: np.ndarray, target: np.ndarray
    ) -> State:
        """The task's start states for ``rows`` (and what it draws for their episodes: a
        spline, a pad, the perturbations' bookkeeping), from ``rng``."""
        return self.task.start_episode(rng, rows, start, target, self.noise)

    def begin(self, state: State, target: np.ndarray) -> None:
        """Every row starts an episode at ``state``: no steps, no last action, the
        controller's memory cleared, the first goal."""
        self.state = state
        self.steps[:] = 0
        self.last_action[:] = 0.0
        self.history[:] = 0.0
        self.integral[:] = 0.0
        if self.controller is not None:
            self.controller.reset()
        self.goal = self.task.goal(target, self.steps, state)

    def restart(self, rows: np.ndarray, fresh: State, target: np.ndarray) -> None:
        """``rows`` start new episodes at ``fresh`` while the others fly on (the vector
        face's autoreset)."""
        s = self.state
        s.pos[rows], s.quat[rows], s.vel[rows], s.ang_vel[rows] = (
            fresh.pos,
            fresh.quat,
            fresh.vel,
            fresh.ang_vel,
        )
        self.last_action[rows] = 0.0
        self.history[rows] = 0.0
        self.integral[rows] = 0.0
        self.steps[rows] = 0
        if self.controller is not None:
            self.controller.reset(rows)
        self.goal = self.task.goal(target, self.steps, s)

    def advance(
        self,
        action: np.ndarray,
        target: np.ndarray,
        dt: float,
        rest_height: float,
        integrate: Callable[[np.ndarray, int], State],
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """One control step of every row with finite ``action`` (rows, act_dim): the step
        order of the module docstring. ``integrate(rpm, k)`` advances the physics ``k``
        steps of ``dt`` s and returns the new state. Returns (reward (rows,), ended
        (rows,) bool, the task's per-row details, the last motor speeds (rows, 4) RPM)."""
        prev_vz = self.state.vel[:, 2].copy()
        clipped = COLUMNS.clip(action, -1.0, 1.0)  # once, for the commander and the observation
        self.state, rpm = self.task.control_step(
            clipped, self.state, self.goal, self.controller, self.substeps, dt, integrate
        )
        if self.task.action_history:
            self.history[:, 1:] = self.history[:, :-1]
            self.history[:, 0] = self.last_action
        self.last_action = clipped
        self.steps += 1
        self.task.progress(self.state)
        self.goal = self.task.goal(target, self.steps, self.state)
        if self.task.error_integral:
            self.integral = self.task.integrate_error(self.integral, self.goal - self.state.pos)
        reward, ended, details = self.task.judge(
            self.state, self.goal, prev_vz, rest_height, self.steps, self.max_steps
        )
        return reward, ended, details, rpm

    def observe(
        self,
        max_error: float,
        tail: tuple[np.ndarray, np.ndarray] | None = None,
        motors: np.ndarray | None = None,
        parameters: np.ndarray | None = None,
    ) -> np.ndarray:
        """(rows, obs_dim) the task's kinematic observation of every row, with a face's
        own ``tail`` entries (the swarm's neighbours) if given, and the motor speeds
        ``motors`` (rows, 4) RPM where the task observes them (``motors=True``), and the
        :meth:`memory` where it has some; then with ``privileged`` the
        :meth:`privileged` vector of the episodes' physical ``parameters`` (rows, 13)."""
        memory = self.memory() if self.task.memory_dim else None
        obs = self.task.observe(
            self.state, self.goal, self.last_action, max_error, self.steps, tail, motors, memory
        )
        if not self.config.privileged:
            return obs
        return np.concatenate([obs, self.privileged(max_error, parameters)], 1)

    def observation_space(
        self, max_error: float, tail_high: np.ndarray | None = None
    ) -> spaces.Box:
        """One row's observation space, in :meth:`observe`'s order: the task's, then a face's
        own ``tail_high`` bounds (the swarm's neighbours) if given, then with ``privileged``
        the bounds of :data:`PRIVILEGED`."""
        own = self.task.observation_space(max_error)
        parts = [own.high]
        if tail_high is not None:
            parts.append(tail_high)
        if self.config.privileged:
            parts.append(self._privileged_high(max_error))
        if len(parts) == 1:
            return own
        high = np.concatenate(parts).astype(np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    def _privileged_high(self, max_error: float) -> np.ndarray:
        """The bounds of :data:`PRIVILEGED` at ``max_error``, made once per value (every
        privileged observation clips to them: not a new Box each control step)."""
        cached = self._high_cache
        if cached is None or cached[0] != max_error:
            state = self.task.observation_space(max_error).high[:18]
            high = np.concatenate([state, [1.0], PARAMETERS_HIGH, [1.0, MAX_DELAY]])
            self._high_cache = cached = (max_error, high)
        return cached[1]

    def privileged(self, max_error: float, parameters: np.ndarray) -> np.ndarray:
        """(rows, len(PRIVILEGED)) float32: the :data:`PRIVILEGED` vector of every row,
        saturated at its bounds, no sensor noise; ``parameters`` (rows, 13) are the
        episodes' physical ones (:func:`~quadgym.envs.quad.sim.perturb.episode_parameters`)."""
        s, rows = self.state, self.rows
        rot = quat_to_rot(s.quat).reshape(rows, 9)
        time = (self.steps / self.max_steps)[:, None]
        sensing = self.task.sensing_parameters(rows)
        out = np.concatenate(
            [self.goal - s.pos, rot, s.vel, s.ang_vel, time, parameters, sensing], 1
        )
        high = self._privileged_high(max_error)
        return np.clip(out, -high, high).astype(np.float32)

    def memory(self) -> np.ndarray:
        """(rows, memory_dim) what the observation remembers (``action_history`` k,
        ``error_integral`` τ): the k actions before the last, newest first, each clipped to
        [-1, 1], then the leaky integral of the position error (goal − position after each
        control step, before sensor noise), m·s; all 0 at an episode's start."""
        parts = [self.history.reshape(self.rows, -1)]
        if self.task.error_integral:
            parts.append(self.integral)
        return np.concatenate(parts, 1)
