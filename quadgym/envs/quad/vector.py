"""QuadHoverVectorEnv: thousands of independent hover worlds in batched NumPy.

The same physics (:func:`quadgym.envs.quad.sim.physics.advance`), the same task
object (:class:`quadgym.envs.quad.tasks.base.HoverTask`) and the same control step
as QuadHover-v0 in ``dyn`` modes, with a leading axis of ``num_envs`` lanes and
no per-lane Python loop. Registered as the ``vector_entry_point`` of
QuadHover-v0::

    envs = gym.make_vec("QuadHover-v0", num_envs=4096)  # this class
    envs = gym.make_vec("QuadHover-v0", num_envs=8, vectorization_mode="sync")  # PyBullet copies
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import ArrayLike

from quadgym.envs.quad.config import QuadConfig, VectorConfig
from quadgym.envs.quad.episode import Episode
from quadgym.envs.quad.sim import dynamics
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.sim.perturb import (
    episode_parameters,
    make_disturbances,
    motor_speeds,
    perturbed_model,
)
from quadgym.envs.quad.sim.physics import Physics, advance
from quadgym.envs.quad.tasks.suite import BULLET_TASKS, SINGLE_ENVS

#: The task details a step's ``infos`` carries, each (n,), where the task reports them:
#: every task's distance to its goal (m) and the landing's credited steps.
LANE_INFO = ("position_error", "credited_steps")


def _check_backend(config: QuadConfig) -> Physics | None:
    """The aerodynamic effects to integrate (None: none), after refusing what the
    batched backend cannot do: several drones per world, rendering, Bullet, downwash.

    Raises:
        ValueError: naming the argument and the PyBullet env that can do it.
    """
    if config.task in BULLET_TASKS:
        raise ValueError(
            f"task {config.task!r} needs PyBullet's collisions with its scene, which the "
            "vector backend does not have; use the PyBullet env (vectorization_mode='sync')"
        )
    if config.num_drones != 1:
        raise ValueError(
            f"the vector backend runs one drone per world, got num_drones={config.num_drones}; "
            "use the PyBullet env (vectorization_mode='sync') for several drones per world"
        )
    if config.image_parts:
        raise ValueError(
            f"obs_type={config.obs_type!r} needs onboard cameras, which the vector backend "
            "does not have; image observations are available in QuadHover-v0 (gym.make, or "
            "gym.make_vec with vectorization_mode='sync') and quad_swarm_v0"
        )
    if config.render_mode is not None:
        raise ValueError(
            f"render_mode={config.render_mode!r} needs PyBullet's cameras; the vector backend "
            "has no renderer (use vectorization_mode='sync' or the single env)"
        )
    phys = config.physics_mode
    if phys.integrator != "dyn" or phys.downwash:
        raise ValueError(
            f"physics {config.physics!r} is not available in the vector backend: it integrates "
            "with NumPy ('dyn', optionally with '_gnd' and '_drag'); Bullet collisions "
            "('pyb*') and downwash between drones of one world need the PyBullet env"
        )
    return phys if phys.has_aero else None


class QuadHoverVectorEnv(VectorEnv):
    """
    ## Description

    ``num_envs`` independent copies of QuadHover-v0 (one cf2x each), advanced
    together. Physics modes ``dyn`` and ``dyn_gnd``, ``dyn_drag``,
    ``dyn_gnd_drag``: the NumPy integrator with the ground as a contact rule
    (inelastic, the drone stops; a landing slower than 1 m/s is fine, faster
    is a crash, as is a tilt beyond ``max_tilt``). Downwash needs drones
    sharing a world and ``pyb`` modes need Bullet: both raise ``ValueError``.

    Spaces, reward, start state and episode end are those of QuadHover-v0
    (see its card); ``single_observation_space`` and ``single_action_space``
    are one lane's.

    ## Autoreset

    ``autoreset_mode="next_step"`` (Gymnasium's default): the step after a lane
    terminates or truncates, that lane resets, ignores its action, and reports
    reward 0 and no termination. ``"same_step"``: the lane resets within the
    step that ends its episode; the final observation is in
    ``infos["final_obs"]`` (object array, ``infos["_final_obs"]`` marks the
    lanes) and the reset observation is returned. ``"disabled"``: lanes never
    reset by themselves (call ``reset``). Every step's ``infos["position_error"]`` (n,)
    holds each lane's distance to its goal after the step, m, as the single env's info
    does (in a step where ``next_step`` resets a lane, that lane's entry means nothing);
    on QuadLand-v0 ``infos["credited_steps"]`` (n,) too, the steps left a landing's
    reward pays (0 in a lane that resets).

    ## Arguments

    Those of QuadHover-v0 (see its card: ``drone_model``, ``physics_hz``,
    ``control_hz``, ``action_type``, ``start``, ``start_height``, ``target``,
    the start noises, ``episode_seconds``, ``max_tilt``, ``box``, ``perturb``,
    ``randomize``: each lane its own draws, ``motors``: the motor lag and the observed
    motor speeds, ``action_history`` and ``error_integral``: memory in the observation,
    cleared when a lane resets, ``privileged``: each lane's privileged vector), checked the
    same way and held in ``envs.config`` (a
    :class:`~quadgym.envs.quad.config.QuadConfig`), and these, the vector env's
    own in ``envs.vector_config``:

    | Parameter          | Type    | Default     | Description                         |
    |--------------------|---------|-------------|-------------------------------------|
    | ``num_envs``       | **int** | 1           | lanes, one drone each; >= 1         |
    | ``physics``        | **str** | "dyn"       | ``dyn``, ``dyn_gnd``, ``dyn_drag``, |
    |                    |         |             | ``dyn_gnd_drag``                    |
    | ``autoreset_mode`` | **str** | "next_step" | ``next_step``, ``same_step``,       |
    |                    |         |             | ``disabled`` (or the enum)          |
    | ``integrator``     | **str** | "euler"     | ``euler`` (semi-implicit, Bullet's  |
    |                    |         |             | scheme) or ``rk4`` (4th order, for  |
    |                    |         |             | larger steps at equal accuracy)     |
    | ``num_drones``     | **int** | 1           | must be 1 (one drone per world)     |
    | ``render_mode``    | **str** | None        | must be None (no renderer)          |
    | ``obs_type``       | **str** | "kin"       | must be "kin" (no cameras: images   |
    |                    |         |             | need QuadHover-v0, quad_swarm_v0)   |

    ``reset(options={"state": State})`` sets every lane's state explicitly
    (``num_envs`` rows).

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        drone_model: str = "cf2x",
        physics: str = "dyn",
        physics_hz: int = 240,
        control_hz: int = 30,
        action_type: str = "rpm",
        start: ArrayLike | None = None,
        start_height: float = 0.0,
        target: ArrayLike | None = None,
        start_xy_noise: float = 0.1,
        start_yaw_noise: float = 0.3,
        start_tilt_noise: float = 0.0,
        start_vel_noise: float = 0.0,
        start_height_noise: float = 0.0,
        episode_seconds: float = 8.0,
        max_tilt: float = 1.2,
        box: float = 2.0,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        integrator: str = "euler",
        render_mode: str | None = None,
        num_drones: int = 1,
        task: str = "hover",
        perturb: Any = None,
        randomize: Any = None,
        motors: bool = False,
        action_history: int = 0,
        error_integral: float = 0.0,
        error_integral_radius: float | None = None,
        privileged: bool = False,
        obs_type: str = "kin",
        **options: Any,
    ) -> None:
        self.config = config = QuadConfig.from_arguments(locals())
        self.vector_config = vector = VectorConfig.from_arguments(locals())
        self.physics = _check_backend(config)
        self.num_envs = n = vector.num_envs
        self.autoreset_mode = vector.autoreset
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        name = f"{SINGLE_ENVS.get(config.task, 'QuadHover-v0')} (vector)"
        self.episode = ep = Episode(config, options, n, name)  # lanes autoreset: never "over"
        self.task, self.task_options, self.controller = ep.task, ep.task_options, ep.controller
        self.max_steps, self.substeps, self.noise = ep.max_steps, ep.substeps, ep.noise
        self.model = model = config.model
        self.dt = 1.0 / config.physics_hz
        self.rest_height = model.collision_height / 2.0
        nominal, goal = config.nominal_points(self.rest_height)
        self.start = np.broadcast_to(nominal, (n, 3)).copy()
        self.target = np.broadcast_to(goal, (n, 3)).copy()
        self._max_error = self.task.max_error(nominal, goal)
        self.single_action_space = self.task.action_space()
        self.single_observation_space = ep.observation_space(self._max_error)
        self.action_space = batch_space(self.single_action_space, n)
        self.observation_space = batch_space(self.single_observation_space, n)
        self._wrench = dynamics.wrench_matrix(model)
        perturb = config.perturbations  # the physical ones here, the others in the task
        self._perturb, self._true_model = perturb, perturbed_model(model, perturb)
        self._disturb = make_disturbances(perturb, n, self.dt, config.randomization)
        self._needs_reset = np.zeros(n, dtype=bool)

    # ------------------------------------------------------------------ reset
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        ep = self.episode
        ep.guard.reset()
        super().reset(seed=seed)
        state = options.get("state") if options else None
        if state is not None and len(state) != self.num_envs:
            raise ValueError(f"options['state'] has {len(state)} rows; expected {self.num_envs}")
        lanes = np.arange(self.num_envs)
        # the task's draws for the episode (a spline, a pad) even where the state is given
        drawn = ep.draw(self.np_random, lanes, self.start, self.target)
        if self._disturb is not None:
            self._disturb.reset(self.np_random, lanes)
        ep.begin(drawn if state is None else state.copy(), self.target)
        self._needs_reset[:] = False
        return self._obs(), {}

    def _reset_lanes(self, lanes: np.ndarray) -> None:
        fresh = self.episode.draw(self.np_random, lanes, self.start, self.target)
        if self._disturb is not None:
            self._disturb.reset(self.np_random, lanes)
        self.episode.restart(lanes, fresh, self.target)

    # ------------------------------------------------------------------- step
    def step(self, actions):
        self.episode.guard.check_step()
        a = np.asarray(actions, dtype=np.float64)
        shape = (self.num_envs, self.task.act_dim)
        if a.shape != shape:
            raise ValueError(f"actions have shape {a.shape}; expected {shape}")
        bad = ~np.isfinite(a).all(axis=1)
        if bad.any():
            lanes = np.flatnonzero(bad)
            raise ValueError(
                f"actions hold NaN or inf in lane(s) {lanes[:10].tolist()}"
                f"{' ...' if lanes.size > 10 else ''}; actions must be finite"
            )
        reward, terminated, details, _ = self.episode.advance(
            a, self.target, self.dt, self.rest_height, self._integrate
        )
        truncated = self.episode.steps >= self.max_steps
        infos: dict[str, Any] = {key: details[key] for key in LANE_INFO if key in details}
        if self.autoreset_mode == AutoresetMode.DISABLED:
            obs = self._obs()
        elif self.autoreset_mode == AutoresetMode.NEXT_STEP:
            lanes = np.flatnonzero(self._needs_reset)
            if lanes.size:
                self._reset_lanes(lanes)
                reward[lanes] = 0.0
                if "credited_steps" in infos:
                    infos["credited_steps"][lanes] = 0
                terminated[lanes] = False
                truncated[lanes] = False
            self._needs_reset = terminated | truncated
            obs = self._obs()
        else:  # SAME_STEP
            done = terminated | truncated
            obs = self._obs()
            if done.any():
                lanes = np.flatnonzero(done)
                final = np.full(self.num_envs, None, dtype=object)
                final[lanes] = list(obs[lanes])
                infos["final_obs"], infos["_final_obs"] = final, done
                self._reset_lanes(lanes)
                obs[lanes] = self._obs()[lanes]
        return obs, reward, terminated, truncated, infos

    def _integrate(self, rpm: np.ndarray, substeps: int) -> State:
        return advance(
            self.episode.state,
            rpm,
            self._true_model,
            self.physics,
            self.dt,
            substeps,
            self.rest_height,
            self._wrench,
            self._disturb,
            integrator=self.vector_config.integrator,
        )

    def _obs(self) -> np.ndarray:
        parameters = None
        if self.config.privileged:
            parameters = episode_parameters(self._perturb, self._disturb, self.num_envs)
        return self.episode.observe(self._max_error, None, motor_speeds(self._disturb), parameters)

    def get_state(self) -> State:
        """A copy of every lane's state."""
        return self.episode.state.copy()

    def close_extras(self, **kwargs: Any) -> None:
        """Drop the lanes; ``step()``/``reset()`` then raise ``EnvClosed``."""
        self.episode.state = None
        self.episode.guard.close()
