"""QuadHover-v0, QuadTrack-v0, QuadLand-v0, QuadGates-v0, QuadVisualReach-v0: a Gymnasium
environment over a PyBullet world and a task of the suite (:mod:`quadgym.envs.quad.tasks.suite`)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import EzPickle
from numpy.typing import ArrayLike

from quadgym.envs.lifecycle import env_name
from quadgym.envs.quad.episode import Episode, face_config
from quadgym.envs.quad.sensors.camera import Observer
from quadgym.envs.quad.sensors.view import WorldCamera
from quadgym.envs.quad.sim.world import World, gui_available
from quadgym.envs.quad.tasks.base import check_actions
from quadgym.envs.quad.tasks.suite import SINGLE_ENVS


class QuadHoverEnv(gym.Env, EzPickle):
    """
    ## Description

    One class, five registered tasks (``task=``): **QuadHover-v0** (below),
    **QuadTrack-v0** (follow a moving reference: circle, figure-eight or a
    seeded random spline around the target; :mod:`quadgym.envs.quad.tasks.track`),
    **QuadLand-v0** (from the air onto a pad below the target, touching
    down slowly; :mod:`quadgym.envs.quad.tasks.land`) and **QuadGates-v0** (through
    a seeded course of gates past pillars, PyBullet bodies loaded once and
    moved by reset; 15 s episodes; :mod:`quadgym.envs.quad.tasks.gates`) and
    **QuadVisualReach-v0** (fly to a red sphere that only the onboard camera
    shows; its full card is :mod:`quadgym.envs.quad.tasks.visual_reach`'s). Each task
    module's docstring is its card's task part: start, observation entries of its own, reward
    and end; everything else is as described here.

    QuadHover-v0: one Crazyflie (or ``num_drones`` of them, controlled as one
    joint agent) starts at rest on the ground and must reach and hold a target
    point, by default 1 m above its nominal start. The physics is a PyBullet world with
    the motor, rigid-body and aerodynamic models of Panerati et al. 2021,
    "Learning to Fly" (modes ``pyb``, ``dyn``, ``pyb_gnd``, ``pyb_drag``,
    ``pyb_dw``, ``pyb_gnd_drag_dw``); physics runs at ``physics_hz`` and the
    agent acts at ``control_hz``, each action held for the substeps between.

    ## Action Space

    ``Box(-1, 1, (d,), float32)``, ``d`` set by ``action_type`` (below); with
    ``num_drones > 1`` the shape gains a leading ``num_drones`` axis. Finite
    values outside [-1, 1] are clipped; NaN/inf or a wrong shape raise
    ``ValueError``. ω_h is the hover RPM, m·g the weight.

    | action_type   | Num | Action                                | -1 / 0 / +1                   |
    |---------------|-----|---------------------------------------|-------------------------------|
    | ``rpm``       | 0-3 | speed of motor i                      | 0.5 / 1.0 / 1.5 × ω_h         |
    | ``one_d_rpm`` | 0   | speed of all four motors              | 0.5 / 1.0 / 1.5 × ω_h         |
    | ``pid``       | 0-2 | set-point x, y, z (PID tracked)       | target −1 m / target / +1 m   |
    | ``one_d_pid`` | 0   | set-point z over the target's x, y    | target −1 m / target / +1 m   |
    | ``vel``       | 0-2 | velocity direction (normalised;       | (all 0: no motion)            |
    |               |     | PID tracked, yaw held)                |                               |
    |               | 3   | speed along it                        | 1 / 0 / 1 m/s                 |
    | ``attitude``  | 0   | collective thrust                     | 0 / m·g / 2·m·g               |
    |               | 1-2 | roll, pitch set-points                | −π/6 / 0 / +π/6 rad           |
    |               | 3   | yaw-rate set-point                    | −π/2 / 0 / +π/2 rad/s         |

    The PID of every tracked type (``pid``, ``one_d_pid``, ``vel``,
    ``attitude``) runs at the physics rate, the agent's set-point held between
    control steps. ``vel`` is gym-pybullet-drones' VelocityAviary action (whose
    full speed is 0.25 m/s on the cf2x); ``attitude`` is the Crazyflie
    commander's (roll, pitch, yaw rate, thrust), its yaw set-point integrating
    the rate from the episode's start. Details:
    :mod:`quadgym.envs.quad.tasks.actions`.

    Motors are numbered as in the URDF (cf2x: front-right (+x, −y) first,
    then clockwise seen from above: rear-right, rear-left, front-left).

    ## Observation Space

    ``Box(float32)`` of shape ``(18 + d,)`` (or ``(num_drones, 18 + d)``):

    | Num     | Observation                         | Min      | Max     | Unit  |
    |---------|-------------------------------------|----------|---------|-------|
    | 0-2     | target − position (world x, y, z)   | -e       | e       | m     |
    | 3-11    | rotation matrix body→world, rows    | -1       | 1       |       |
    | 12-14   | linear velocity (world)             | -10      | 10      | m/s   |
    | 15-17   | angular velocity (body)             | -30      | 30      | rad/s |
    | 18-...  | previous action                     | -1       | 1       |       |
    | then 4  | motor speeds / hover speed − 1,     | -r       | r       |       |
    |         | only with ``motors=True``           |          |         |       |
    | then    | the task's own entries (its card)   |          |         |       |
    | then k·d| the k actions before the previous,  | -1       | 1       |       |
    |         | newest first (``action_history=k``) |          |         |       |
    | then 3  | integral of the position error      | -c·e     | c·e     | m·s   |
    |         | (``error_integral=τ`` > 0)          |          |         |       |

    ``e`` is the box half-width plus the start-to-target distance plus 0.5 m
    (3.5 m by default). Velocities saturate at the bounds. ``r`` is the maximum over the
    hover motor speed (1.5 on cf2x); the motor speeds read 0 before an episode's first
    command (which the motors take at once).

    **Memory** (off by default; the observation is then exactly the above): a policy
    without memory cannot remove a steady offset (a heavier drone, a weaker motor) that a
    controller's integral removes. ``action_history=k`` appends the k actions before the
    previous one (newest first, each clipped to [-1, 1]; 0 before the episode had them),
    so the observation carries the last k + 1 actions. ``error_integral=τ`` appends the
    position error's leaky integral I (world x, y, z, m·s): after each control step of
    Δt = 1/``control_hz`` s, I ← e^(−Δt/τ)·I + Δt·(goal − position), from 0 at the reset
    (the true error; the observed I, like every entry, then carries the sensor noise). A
    constant error e holds I at c·e, c = Δt / (1 − e^(−Δt/τ)) ≈ τ; it saturates at c·``e``. With
    ``error_integral_radius=r`` the error is added only while its norm is at most r (farther,
    I only leaks), and I saturates at c·r: an approach from afar does not wind it up.

    **Privileged** (``privileged=True``, for training only): after everything above, 34
    entries a critic may read and a deployed policy cannot have
    (:data:`~quadgym.envs.quad.episode.PRIVILEGED`): the true target − position, rotation,
    velocity and body rates (no sensor noise), the fraction of the episode flown, the true
    mass and inertia over the URDF's, each motor's thrust factor, the motor time constant
    (s), the wind and the current gust (N), the sensor-noise std and the action delay
    (steps), each drone its episode's draws under ``randomize``. ``ppo``'s
    ``asymmetric_critic`` sets it on its training envs and drops it from its actor.

    **Onboard cameras** (``obs_type``, default ``"kin"``: the vector above, alone).
    One forward camera per drone at its centre, looking along body +x tilted
    down by ``camera_tilt`` degrees, rolling, pitching and yawing with the body
    (:mod:`quadgym.envs.quad.sensors.camera`). ``obs_type`` names the parts, joined by
    "+" (``"rgb"``, ``"kin+rgb"``, ``"kin+depth+seg"``, ...): one part is a Box,
    several a ``Dict`` keyed by part (SB3's ``MultiInputPolicy``); with
    ``num_drones > 1`` each part gains a leading ``num_drones`` axis.

    | Part      | Space                                   | Content                         |
    |-----------|-----------------------------------------|---------------------------------|
    | ``kin``   | ``Box(float32)``, the table above       | kinematics                      |
    | ``rgb``   | ``Box(0, 255, (H, W, 3), uint8)``       | colour, white where nothing is  |
    | ``depth`` | ``Box(near, far, (H, W, 1), float32)``  | depth along the optical axis, m;|
    |           |                                         | ``far`` where nothing is hit    |
    | ``seg``   | ``Box(0, L, (H, W, 1), int32)``         | segmentation ids (below)        |

    H × W is ``camera_height`` × ``camera_width`` (48 × 64). Segmentation ids:
    0 nothing (sky, beyond ``far``), 1 the ground, 2 a visual target
    (QuadVisualReach-v0), 3 + i drone i, then the other scene bodies in the order
    they were loaded (obstacles, gates, pillars); L is the largest id of the world.
    The ground is an infinite plane drawn as a 100 m grid (0.5 m checker tiles, a
    darker line every metre). A new frame is captured at every reset and then
    every ``control_hz / camera_hz`` control steps, the last frame held between
    (``camera_hz`` None: every step). Nothing nearer than ``camera_near`` is seen,
    which must clear the drone's own body (> 0.067 m for the cf2x and cf2p).

    Policies: SB3's ``CnnPolicy`` takes ``"rgb"`` (uint8, channel-last: an image
    space to SB3) and ``MultiInputPolicy`` takes any Dict, running a CNN on
    ``rgb`` and an MLP on the rest. ``depth`` (float metres) and ``seg`` (int
    ids) are not images to SB3: it flattens them into its MLP; scale depth to
    uint8 or give a custom features extractor to convolve them.
    Rendering: ``camera_renderer`` ``"auto"``/``"tiny"`` (PyBullet's CPU
    TinyRenderer, fastest here: ~1,300 frames/s at 64x48 on one core),
    ``"rays"`` (depth and seg by batched ray casts, agreeing with TinyRenderer
    on the scene; ~6x slower at 64x48), ``"egl"`` (PyBullet's EGL plugin: use
    it on a machine with a GPU). ``benchmarks/bench_camera.py`` measures them.

    ## Rewards

    ``max(0, 1 − ‖target − position‖ / 2 m)`` per step, in [0, 1] (the mean over
    drones when there are several). No crash penalty: ending early forfeits
    the reward of the remaining steps.

    ## Starting State

    At rest, level, on the ground (centre at half the collision height,
    ``start_height`` m higher) at ``start`` (default the origin; several drones
    in a row along x, 0.5 m apart), plus uniform noise: ±``start_xy_noise`` m
    in x and y (0.1), ±``start_yaw_noise`` rad of yaw (0.3), and, for starts in
    the air, ±``start_tilt_noise`` rad of roll and pitch and ±``start_vel_noise``
    m/s of velocity (both 0), and an extra height drawn from
    [0, ``start_height_noise``] m (0). Starts in the air make learning to hover
    far easier than starts on the ground only.

    ## Episode End

    1. Termination: a drone tilts more than ``max_tilt`` (1.2 rad) from upright.
    2. Termination: a drone leaves the box: more than ``box`` (2 m) from the
       target in x or y, or more than ``box`` above it.
    3. Termination: a drone touches the ground after descending faster than
       1 m/s (a crash; a slower landing is fine).
    4. Truncation: ``episode_seconds`` (8 s, i.e. 240 steps at 30 Hz) elapse.

    ``step()`` before the first ``reset()`` raises ``ResetNeeded``; after the
    episode ended it warns once (the physics goes on, as CartPole's does);
    ``step()`` or ``reset()`` after ``close()`` raises ``EnvClosed``
    (:mod:`quadgym.envs.lifecycle`; both errors are ``RuntimeError`` s).

    ## Arguments

    ```python
    >>> import gymnasium as gym, quadgym
    >>> env = gym.make("QuadHover-v0", drone_model="cf2x", physics="pyb_gnd_drag_dw",
    ...                action_type="pid", physics_hz=240, control_hz=30)
    ```

    Every argument is checked before anything is built: ``TypeError`` for a
    wrong type, ``ValueError`` for a value out of range, not finite or unknown,
    each naming the argument. ``env.unwrapped.config`` holds them all, as a
    frozen :class:`~quadgym.envs.quad.config.QuadConfig`.

    | Parameter              | Type          | Default | Description                               |
    |------------------------|---------------|---------|-------------------------------------------|
    | ``drone_model``        | **str**       | "cf2x"  | ``cf2x``, ``cf2p`` or ``race`` (URDFs)    |
    | ``num_drones``         | **int**       | 1       | drones in the world, one joint agent      |
    | ``physics``            | **str**       | "pyb"   | physics mode (see Description)            |
    | ``physics_hz``         | **int**       | 240     | physics rate, Hz; <= 100,000              |
    | ``control_hz``         | **int**       | 30      | control rate, Hz; divides ``physics_hz``  |
    | ``action_type``        | **str**       | "rpm"   | ``rpm``, ``one_d_rpm``, ``pid``,          |
    |                        |               |         | ``one_d_pid``, ``vel``, ``attitude``      |
    |                        |               |         | (see Action Space)                        |
    | ``start``              | **ArrayLike** | None    | (3,) or (num_drones, 3) nominal start, m, |
    |                        |               |         | within ±1e4; z replaced (Starting State)  |
    | ``start_height``       | **float**     | 0.0     | start above the resting height, m; <= 1e4 |
    | ``target``             | **ArrayLike** | None    | (3,) or (num_drones, 3) target, m, within |
    |                        |               |         | ±1e4; None: 1 m above the start           |
    | ``start_xy_noise``     | **float**     | 0.1     | ± start noise in x and y, m; <= 1e4       |
    | ``start_yaw_noise``    | **float**     | 0.3     | ± start noise of yaw, rad; <= π           |
    | ``start_tilt_noise``   | **float**     | 0.0     | ± start roll and pitch, rad; <= π/2       |
    | ``start_vel_noise``    | **float**     | 0.0     | ± start noise per velocity axis, m/s;     |
    |                        |               |         | <= 10 (the observation's range)           |
    | ``start_height_noise`` | **float**     | 0.0     | extra start height in [0, this], m;       |
    |                        |               |         | <= 1e4                                    |
    | ``episode_seconds``    | **float**     | 8.0     | episode length, s (>= 1 control step)     |
    | ``max_tilt``           | **float**     | 1.2     | crash tilt from upright, rad; in (0, π]   |
    | ``box``                | **float**     | 2.0     | half-width of the flight box, m; (0, 1e4] |
    | ``render_mode``        | **str**       | None    | ``rgb_array`` (a camera following the     |
    |                        |               |         | drone, its trail and set-point) or        |
    |                        |               |         | ``human`` (PyBullet GUI, needs a display) |
    | ``render_width``       | **int**       | 640     | rgb_array frame width, pixels; 16-4096    |
    | ``render_height``      | **int**       | 480     | rgb_array frame height, pixels; 16-4096   |
    | ``task``               | **str**       | "hover" | ``hover``, ``track``, ``land``, ``gates``,|
    |                        |               |         | ``visual_reach`` (the registered ids set  |
    |                        |               |         | it)                                       |
    | ``perturb``            | **str, dict** | None    | perturbations: ``"mild"``, ``"harsh"``,   |
    |                        |               |         | a dict or ``"wind=(0.02,0,0),mass=1.2"``  |
    |                        |               |         | (:mod:`~quadgym.envs.quad.sim.perturb`)   |
    | ``randomize``          | **str, dict** | None    | per-episode ranges of the perturbations,  |
    |                        |               |         | each drone its own draw from the env's    |
    |                        |               |         | generator: ``"mild"`` or                  |
    |                        |               |         | ``"mass=(0.9,1.2),motor_tau=(0,0.04)"``   |
    | ``motors``             | **bool**      | False   | motors in the model: first-order lag with |
    |                        |               |         | the airframe's time constant (cf2x, cf2p: |
    |                        |               |         | 0.072 s; a ``perturb`` motor_tau replaces |
    |                        |               |         | it); motor speeds in the observation      |
    | ``action_history``     | **int**       | 0       | memory: the k actions before the previous |
    |                        |               |         | one in the observation; 0 to 64           |
    | ``error_integral``     | **float**     | 0.0     | memory: the position error's integral in  |
    |                        |               |         | the observation, leaking with this time   |
    |                        |               |         | constant τ, s; 0: not observed; <= 600    |
    | ``error_integral_radius`` | **float**  | None    | anti-windup: the error is integrated only |
    |                        |               |         | within this distance of the goal, m;      |
    |                        |               |         | None: always                              |
    | ``privileged``         | **bool**      | False   | append the privileged vector (true state, |
    |                        |               |         | episode time, perturbation parameters:    |
    |                        |               |         | ``episode.PRIVILEGED``) for an asymmetric |
    |                        |               |         | critic; a policy must not read it         |
    | ``obs_type``           | **str**       | "kin"   | ``kin``, ``rgb``, ``depth``, ``seg`` or   |
    |                        |               |         | parts joined by "+" (Observation Space)   |
    | ``camera_width``       | **int**       | 64      | image width, pixels; 1 to 1024            |
    | ``camera_height``      | **int**       | 48      | image height, pixels; 1 to 1024           |
    | ``camera_fov``         | **float**     | 60.0    | vertical field of view, deg; in (0, 180)  |
    | ``camera_near``        | **float**     | 0.1     | near plane, m; beyond the drone's body    |
    | ``camera_far``         | **float**     | 20.0    | far plane, m; > near, <= 1000             |
    | ``camera_tilt``        | **float**     | 0.0     | camera pitch below body +x, deg; ±90      |
    | ``camera_hz``          | **int**       | None    | frames/s; divides ``control_hz``; None:   |
    |                        |               |         | a new frame every control step            |
    | ``camera_renderer``    | **str**       | "auto"  | ``auto`` (= ``tiny``), ``tiny``, ``rays``,|
    |                        |               |         | ``egl`` (Observation Space)               |

    ``**options``: the task's own arguments, checked by its config (an
    unknown name is refused with the closest one): QuadTrack-v0's
    ``trajectory``, ``radius``, ``period``, ``knots``, ``lookahead``,
    ``lookahead_dt``, ``error_scale``
    (:class:`~quadgym.envs.quad.tasks.track.TrackOptions`); QuadLand-v0's
    ``height``, ``offset``, ``pad_radius``, ``max_touchdown_speed``
    (:class:`~quadgym.envs.quad.tasks.land.LandOptions`); QuadGates-v0's ``gates``,
    ``opening``, ``bar``, ``spacing``, ``jitter``, ``heights``, ``turn``,
    ``obstacles`` (:class:`~quadgym.envs.quad.tasks.gates.GatesOptions`);
    QuadVisualReach-v0's ``distance``, ``spread``, ``height``, ``radius``,
    ``success_radius``, ``target_in_obs``, ``obstacles``
    (:class:`~quadgym.envs.quad.tasks.visual_reach.VisualReachOptions`); hover takes none.
    ``env.unwrapped.task_options`` holds them.

    Counts are >= 1; noises, heights and lengths >= 0, finite. Positions stay
    within ±1e4 m, where float32 observations keep about a millimetre of
    resolution (a target 1e300 m away gave NaN observations).

    Each drone is a PyBullet body: building costs ~2 ms per drone (one URDF
    load each) and a reset's pose writes grow quadratically with the drone
    count (see quad_swarm_v0's card for 10 to 10,000 drones).

    ## Vectorized environment

    ``gym.make_vec("QuadHover-v0", num_envs=N)`` returns the batched NumPy
    backend (:class:`~quadgym.envs.quad.vector.QuadHoverVectorEnv`, ``dyn``
    physics, same arguments plus ``num_envs`` and ``autoreset_mode``);
    ``vectorization_mode="sync"`` or ``"async"`` gives copies of this env.

    ## Version History

    * v0: initial version; action types ``one_d_rpm``, ``one_d_pid``, ``vel``
      and ``attitude``, the ``task`` argument (QuadTrack-v0, QuadLand-v0,
      QuadGates-v0, QuadVisualReach-v0), ``perturb`` (wind, mass, inertia, sensor
      noise, action delay; off by default) and the onboard cameras (``obs_type``,
      ``camera_*``; default ``"kin"``) added (the defaults' behaviour is
      unchanged; the ground is drawn as a grid in ``render()``).
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 30}

    def __init__(
        self,
        drone_model: str = "cf2x",
        num_drones: int = 1,
        physics: str = "pyb",
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
        self.num_drones = n = config.num_drones
        if not gui_available():  # Gymnasium's check_env makes one env per listed mode
            self.metadata = {**self.metadata, "render_modes": ["rgb_array"]}
        name = SINGLE_ENVS.get(config.task, "QuadHover-v0")
        # errors name the id gym.make gave (read when a message is made), else the task's
        self.episode = ep = Episode(config, options, n, env_name(self, name), after_end="warn")
        self.task, self.task_options, self.controller = ep.task, ep.task_options, ep.controller
        self.max_steps, self.substeps, self.noise = ep.max_steps, ep.substeps, ep.noise
        self.render_mode = config.render_mode
        self.metadata = {**self.metadata, "render_fps": config.control_hz}
        gui = config.render_mode == "human"
        self.world = World(
            config.model,
            n,
            config.physics,
            config.physics_hz,
            gui,
            config.perturbations,
            config.randomization,
        )
        with self.world.closed_on_error():
            self.task.attach(self.world)
            self.start, self.target = config.nominal_points(self.world.rest_height)
            self._max_error = self.task.max_error(self.start, self.target)
            act, obs = self.task.action_space(), ep.observation_space(self._max_error)
            if n == 1:
                self.action_space, self.observation_space = act, obs
                self._act_shape = act.shape
            else:
                self.action_space = gym.spaces.Box(-1.0, 1.0, (n,) + act.shape, np.float32)
                self.observation_space = gym.spaces.Box(
                    np.broadcast_to(obs.low, (n,) + obs.shape),
                    np.broadcast_to(obs.high, (n,) + obs.shape),
                    dtype=np.float32,
                )
                self._act_shape = self.action_space.shape
            self._observer = Observer.of(self.world, config)  # None: "kin", the vector alone
            if self._observer is not None:
                self.observation_space = self._observer.space(obs, () if n == 1 else (n,))
        self._camera: WorldCamera | None = None  # render()'s, made at the first frame

    # ---------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        ep = self.episode
        ep.guard.reset()
        super().reset(seed=seed)
        state = ep.draw(self.np_random, np.arange(self.num_drones), self.start, self.target)
        self.world.reset(state, self.np_random)
        ep.begin(state, self.target)
        info = {"position_error": self.task.position_error(state, ep.goal)}
        info["crashed"] = np.zeros(self.num_drones, dtype=bool)
        return self._obs(), self._info(info)

    def step(self, action):
        ep = self.episode
        ep.guard.check_step()
        n = self.num_drones
        a = check_actions(action, self._act_shape).reshape(n, -1)
        reward, ended, details, rpm = ep.advance(
            a, self.target, self.world.dt, self.world.rest_height, self._integrate
        )
        terminated = True in ended.tolist()  # (NumPy's any() costs ~1.5 µs a call)
        truncated = self._steps >= self.max_steps
        ep.guard.end(terminated or truncated)
        info = self._info(details)
        info["rpm"] = rpm
        if self.render_mode == "human":
            self.world.sync_bullet()
        # NumPy sums fewer than 8 entries in order from 0.0, as Python's sum does
        total = sum(reward.tolist()) if n < 8 else float(reward.sum())
        return self._obs(), total / n, terminated, truncated, info

    # The episode's state, where the task and the tests look for it.
    _state = property(lambda self: self.episode.state, lambda self, v: self._set_state(v))
    _goal = property(lambda self: self.episode.goal)
    _last_action = property(lambda self: self.episode.last_action)
    _steps = property(lambda self: int(self.episode.steps[0]))

    def _set_state(self, state) -> None:
        self.episode.state = state

    @property
    def goal(self) -> np.ndarray:
        """(num_drones, 3) where the task asks each drone to be now, m (the target of
        hover, the reference point of tracking, the next gate's centre...)."""
        return self._goal.copy()

    def _integrate(self, rpm: np.ndarray, substeps: int):
        self.world.step(rpm, substeps)
        return self.world.get_state()

    def _obs(self) -> np.ndarray | dict[str, np.ndarray]:
        observer, one = self._observer, self.num_drones == 1
        obs = None
        if observer is None or "kin" in observer.parts:
            world = self.world
            parameters = world.episode_parameters() if self.config.privileged else None
            obs = self.episode.observe(self._max_error, None, world.motor_speeds(), parameters)
        if observer is None:
            return obs[0] if one else obs
        parts = observer.observe(obs, self._state, self._steps)
        return observer.pick(parts, 0 if one else slice(None))

    def _info(self, details: dict[str, np.ndarray]) -> dict:
        """The task's per-drone details (scalars for one drone) and the episode time, s."""
        one = self.num_drones == 1
        info = {key: value[0] if one else value for key, value in details.items()}
        info["time"] = self._steps / self.task.control_hz
        return info

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
