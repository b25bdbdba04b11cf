"""What the model-based controllers (``pid``, ``lqr``) share: they learn nothing, read the
drone's state off the observation and plan where to fly from what it shows.

The planner: the goal point, approached through a set-point at most ``CARROT_UP`` m
from the drone (``CARROT_DOWN`` m below it: the published PID gains, run at the 30 Hz
of the agent, saturate and tilt the drone past its limit on a 1 m step, and a landing
must touch down slowly; QuadGates-v0: ``GATE_CARROT``, lining up on each gate's axis
first), and on QuadTrack-v0 (and quad_leader_v0) the reference's velocity, estimated
from the first observed reference point ahead, to feed forward. On quad_swap_v0, whose
straight paths all cross the centre at one height, drone i flies ``SWAP_LAYER`` m ×
(i − (n−1)/2) above its goal while more than ``SWAP_NEAR`` m from it horizontally, the
layer shrinking in proportion below that.

On a PettingZoo env (quad_swarm_v0 and the team envs) one agent controls every drone:
``act`` takes and returns dicts keyed by agent; each drone is flown on its own
observation, as on QuadHover-v0 (a drone whose episode ended has no entry).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.linalg import norm

from quadgym.agents.base import Algorithm, BudgetUnit
from quadgym.agents.capabilities import CrossingGoals, GateCourse, QuadControl
from quadgym.envs.quad.sim.dynamics import State, rot_to_quat
from quadgym.envs.quad.tasks.suite import TASK_ENVS
from quadgym.files import atomic_write_bytes


def kinematics(observation: Any) -> Any:
    """The kinematic part of an observation: the observation itself, or the ``"kin"`` entry
    of a ``Dict`` one (``obs_type="kin+rgb"``: the controllers read the state, not images).

    Raises:
        ValueError: a ``Dict`` observation without kinematics (``obs_type="rgb"``).
    """
    if not isinstance(observation, Mapping):
        return observation
    if "kin" not in observation:
        raise ValueError(
            f"the model-based controllers read the drones' state off the kinematic "
            f"observation; this one holds only {', '.join(observation)}: use obs_type='kin+...'"
        )
    return observation["kin"]


#: A done drone's row in the joint observation: at its goal, level, at rest.
_AT_REST = np.r_[np.zeros(3), np.eye(3).ravel(), np.zeros(6)]


class ModelBasedAgent(Algorithm):
    """Base of the controllers that fly from a model, not from training.

    Config: only ``seed`` (unused: they are deterministic). Their budget (env steps) is
    counted but nothing is learnt, so ``learn`` makes no records.
    """

    #: Farthest the planner puts the set-point from the drone, m: up and sideways,
    #: and downwards (a controlled descent, ~0.4 m/s with the published PID gains).
    CARROT_UP, CARROT_DOWN = 0.5, 0.15
    #: QuadGates-v0: the approach point's distance before a gate and the lead along its
    #: axis, m, and the distance from the axis at which the lead vanishes, m.
    GATE_APPROACH, GATE_ALIGN = 0.5, 0.2
    #: QuadGates-v0: the set-point's farthest distance (about 0.5 m/s of flight), m.
    GATE_CARROT = 0.4
    #: quad_swap_v0: height between the drones' layers while they cross, m, and the
    #: horizontal distance to the goal within which a drone leaves its layer, m (a
    #: sudden 0.45 m drop saturates the PID at low thrust and tips the drone).
    SWAP_LAYER, SWAP_NEAR = 0.3, 0.3

    budget_unit = BudgetUnit.ENV_STEPS
    logged = ()  # nothing to learn, nothing logged
    supported_envs = TASK_ENVS
    requires = (QuadControl,)

    def __init__(self, env: str | gym.Env | Any, **config: Any) -> None:
        super().__init__(env, **config)
        self.task = self.env.unwrapped.task
        self.num_drones = self.env.unwrapped.num_drones
        #: a PettingZoo env's agents in drone order (None: a Gymnasium env's joint array)
        self.agents: list[str] | None = getattr(self.env, "possible_agents", None)
        self.steps_done = 0

    def act(self, observation: Any, deterministic: bool = True) -> Any:
        """The action of :meth:`control` for a Gymnasium env's observation ((obs_dim,)
        for one drone, (n, obs_dim) for several), or per agent for a PettingZoo env's
        dict of observations (one entry per live agent)."""
        if self.agents is None:
            action = self.control(np.asarray(kinematics(observation), dtype=np.float64))
            return action[0] if self.num_drones == 1 else action
        space = self.env.observation_space(self.agents[0])
        width = (space["kin"] if isinstance(space, gym.spaces.Dict) else space).shape[0]
        rows = np.zeros((self.num_drones, width))
        rows[:, : _AT_REST.size] = _AT_REST
        index = {agent: i for i, agent in enumerate(self.agents)}
        for agent, obs in observation.items():
            rows[index[agent]] = kinematics(obs)
        action = self.control(rows)
        return {agent: action[index[agent]] for agent in observation}

    def control(self, observation: np.ndarray) -> np.ndarray:
        """(n, act_dim) float32 actions in [-1, 1] for the drones' observations."""
        raise NotImplementedError

    @property
    def progress(self) -> int:
        return self.steps_done

    def _learn(self, budget: int, emit: Callable[[dict], None]) -> None:
        """Nothing to learn: the budget is counted and no record is made."""
        self.steps_done += budget

    def observed(self, observation: np.ndarray) -> tuple[np.ndarray, State]:
        """The observation as (n, obs_dim) float64 and the drones' state it shows,
        positions relative to the goal (the goal is the origin)."""
        obs = np.asarray(observation, dtype=np.float64).reshape(self.num_drones, -1)
        rot = obs[:, 3:12].reshape(-1, 3, 3)
        return obs, State(-obs[:, 0:3], rot_to_quat(rot), obs[:, 12:15], obs[:, 15:18])

    def plan(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(waypoint, set-point, lead): where the drone flies next relative to it, the
        set-point relative to the goal (a carrot towards the waypoint), and the goal's
        velocity to feed forward (None where the observation does not show it)."""
        waypoint = self._waypoint(obs)
        reach = self._reach(waypoint)
        carrot = waypoint * np.minimum(
            1.0, reach / np.maximum(norm(waypoint, axis=1, keepdims=True), 1e-9)
        )
        return waypoint, carrot - obs[:, 0:3], self._reference_velocity(obs)

    def _waypoint(self, obs: np.ndarray) -> np.ndarray:
        """(n, 3) where the drone flies next, relative to it: the goal. On QuadGates-v0,
        far from the next gate (over 1 m ahead): a point ``GATE_APPROACH`` m before it on
        its axis; closer: the drone's own projection on the axis plus a lead along it
        that shrinks to 0 as the drone strays ``GATE_ALIGN`` m from the axis, so that it
        lines up first and then flies through."""
        error = obs[:, 0:3]
        if isinstance(self.task, CrossingGoals):
            n = len(obs)
            far = np.minimum(1.0, norm(error[:, :2], axis=1) / self.SWAP_NEAR)
            layer = self.SWAP_LAYER * (np.arange(n) - (n - 1) / 2) * far
            return error + np.c_[np.zeros((n, 2)), layer]
        if not isinstance(self.task, GateCourse):
            return error
        first = self.task.extra_start
        normal = np.c_[obs[:, first : first + 2], np.zeros(len(obs))]
        along = np.einsum("ni,ni->n", error, normal)[:, None]  # the gate is ahead if > 0
        offset = error - along * normal  # from the drone to the gate's axis
        lead = self.GATE_APPROACH * np.clip(
            1.0 - norm(offset, axis=1, keepdims=True) / self.GATE_ALIGN, 0.0, 1.0
        )
        near = offset + lead * normal
        return np.where(along > 1.0, error - self.GATE_APPROACH * normal, near)

    def _reach(self, error: np.ndarray) -> np.ndarray:
        """(n, 1) how far the set-point may lie from the drone, m, by direction (through
        gates never farther than ``GATE_CARROT``: slow enough to brake before a frame)."""
        down = error[:, 2:3] < 0.0
        up = self.GATE_CARROT if isinstance(self.task, GateCourse) else self.CARROT_UP
        return np.where(down, self.CARROT_DOWN, up)

    def _reference_velocity(self, obs: np.ndarray) -> np.ndarray | None:
        """(n, 3) the goal's velocity, m/s, where the observation shows where the goal
        will be (QuadTrack-v0's first reference point ahead); None elsewhere."""
        options = getattr(self.task, "options", None)
        if getattr(options, "lookahead", 0) < 1:
            return None
        first = self.task.extra_start
        return (obs[:, first : first + 3] - obs[:, 0:3]) / options.lookahead_dt

    def save(self, path: str | Path) -> None:
        state = {"algo": self.name, "steps_done": self.steps_done}
        atomic_write_bytes(path, json.dumps(state).encode())

    def load(self, path: str | Path) -> None:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is not a readable {self.name} checkpoint: {exc}") from None
        if not isinstance(data, dict) or data.get("algo") != self.name:
            algo = data.get("algo") if isinstance(data, dict) else None
            raise ValueError(f"{path} is a checkpoint of {algo!r}, not of {self.name!r}")
        self.steps_done = int(data.get("steps_done", 0))
