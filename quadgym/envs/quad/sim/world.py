"""A PyBullet world of ``n`` drones: one client per world, bodies loaded once.

:class:`World` owns a PyBullet physics client (``DIRECT`` unless a GUI is
asked for) and every call it makes names that client, so several worlds live
side by side in one process without touching each other. Bodies are loaded
once; a reset only sets poses and velocities.

Two integrators sit behind one interface, chosen by the physics mode:

* ``pyb*``: Bullet integrates and collides. Motor thrust and torques and the
  enabled aerodynamic effects are applied as external forces every substep.
* ``dyn*``: :mod:`quadgym.envs.quad.sim.dynamics` integrates (with the ground as a
  contact rule); poses are written back to Bullet when something (a camera,
  a contact query) needs them.

A drone can be *retired* (:meth:`World.retire`; the swarm retires the drones
of done agents): it stays where it is, at rest, collides with nothing, exerts
no downwash and is skipped by both integrators (a sleeping Bullet body costs
nothing), until the next reset brings it back. Random-action RL retires about
a third of a swarm's drone-steps, which Bullet would otherwise spend on wrecks.

A world that is dropped without :meth:`World.close` is still released: a
``weakref.finalize`` disconnects its client when the world is collected (or at
interpreter exit), and ``close()`` runs that same finaliser, once.

Cost per drone (one PyBullet body each): building loads one URDF per drone,
~2 ms each (~3 ms at 10,000 drones); a reset writes every drone's pose, and
Bullet's pose reset costs more the more bodies a world holds (~10 µs a call
at 500 bodies, ~50 µs at 2,000, ~0.2-0.6 ms at 10,000), so resets grow
quadratically with the drone count.
"""

from __future__ import annotations

import contextlib
import os
import sys
import weakref
from collections.abc import Iterator

import numpy as np
import pybullet as p
from numpy.typing import ArrayLike

from quadgym.envs.quad.sim import aero, dynamics
from quadgym.envs.quad.sim import physics as physics_module
from quadgym.envs.quad.sim.bodies import add_ground, make_shapes
from quadgym.envs.quad.sim.columns import FLOATS_UP_TO, rotation
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.sim.models import GRAVITY, DroneModel
from quadgym.envs.quad.sim.perturb import (  # noqa: F401 - perturbed_model re-exported
    Disturbances,
    Perturbations,
    Randomization,
    episode_parameters,
    make_disturbances,
    motor_speeds,
    perturbed_model,
)
from quadgym.envs.quad.sim.physics import (  # noqa: F401 - re-exported
    Physics,
    advance,
    aero_wrench,
    local_wrench,
    parse_physics,
    physics_modes,
)
from quadgym.envs.quad.sim.scene import SEG_DRONE, SEG_GROUND


@contextlib.contextmanager
def _quiet_stdout():
    """Silence file descriptor 1 (Bullet prints from C while it merges URDF links)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


#: Lateral friction coefficient of the ground. Bullet multiplies it with the drone's
#: (0.5, Bullet's default: the URDFs set none), so a drone slides on the ground with
#: mu = 0.5, as in gym-pybullet-drones (its plane.urdf has lateral_friction 1). Left
#: at Bullet's default of 0.5 the product would be 0.25, a value nobody chose.
GROUND_FRICTION = 1.0


#: Bullet's collision filter of a dynamic URDF body (group DefaultFilter, mask AllFilter),
#: restored when a retired drone returns.
_DRONE_FILTER = (1, -1)


def gui_available() -> bool:
    """Whether PyBullet's GUI can open here: on Linux it needs a display (``DISPLAY``);
    without one Bullet would abort the whole process."""
    return not sys.platform.startswith("linux") or bool(os.environ.get("DISPLAY"))


def _disconnect(client: int) -> None:
    """Disconnect PyBullet client ``client`` (a finaliser: it must not refer to the World)."""
    with contextlib.suppress(p.error):
        p.disconnect(physicsClientId=client)


class World:
    """``num_drones`` drones of one model in one PyBullet world.

    Args:
        model: the airframe.
        num_drones: how many drones (at least 1).
        physics: the physics mode, see :func:`physics_modes`.
        physics_hz: physics rate, Hz.
        gui: open a PyBullet GUI window instead of a headless client.
    """

    def __init__(
        self,
        model: DroneModel,
        num_drones: int,
        physics: str = "pyb",
        physics_hz: int = 240,
        gui: bool = False,
        perturb: Perturbations | None = None,
        randomize: Randomization | None = None,
    ) -> None:
        if not isinstance(num_drones, int | np.integer) or num_drones < 1:
            raise ValueError(f"num_drones must be an integer >= 1, got {num_drones!r}")
        if not isinstance(physics_hz, int | np.integer) or physics_hz < 1:
            raise ValueError(f"physics_hz must be a positive integer, got {physics_hz!r}")
        self.model = model
        self.perturb = p_ = perturb or Perturbations()
        # the airframe the physics flies (controllers and tasks keep ``model``)
        self.true_model = perturbed_model(model, p_)
        self.num_drones = int(num_drones)
        self.physics = parse_physics(physics)
        self.dt = 1.0 / physics_hz
        self._disturb = make_disturbances(p_, self.num_drones, self.dt, randomize)
        self.rest_height = model.collision_height / 2.0
        self._wrench_matrix = dynamics.wrench_matrix(model)
        if gui and not gui_available():
            raise RuntimeError(
                "gui=True (render_mode='human') needs a display, and DISPLAY is not set; "
                "use render_mode='rgb_array' for headless images"
            )
        self.client = p.connect(p.GUI if gui else p.DIRECT)
        if self.client < 0:
            raise RuntimeError("PyBullet could not open a physics client")
        # Runs once: at close(), when this world is collected, or at interpreter exit.
        self._release = weakref.finalize(self, _disconnect, self.client)
        try:
            self._build_scene()
        except BaseException:
            self._release()  # release what was made
            raise
        # Downwash needs a second drone; without one an aero mode costs nothing extra.
        self._aero = (
            self.physics.ground_effect
            or self.physics.drag
            or (self.physics.downwash and self.num_drones > 1)
        )
        self._downwash_only = self._aero and not (self.physics.ground_effect or self.physics.drag)
        self._state = State.at_rest(np.zeros((self.num_drones, 3)))
        self._bullet_stale = False  # dyn: Bullet's poses lag behind self._state
        self._active = np.ones(self.num_drones, dtype=bool)  # False: retired
        self._placed: dict[int, tuple[list, list]] = {}  # scene body -> pose to keep
        self._retired: list[int] = []  # their indices, in retirement order
        self._live: np.ndarray | None = None  # indices of the others while any is retired
        self._live_bodies: list[int] = self.body_ids
        self._settling: list[int] = []  # retired since the last Bullet step (see _settle)
        self.episodes = 0  # resets so far: a camera filming the world starts anew on a change

    def _build_scene(self) -> None:
        """Gravity, time step, the ground and the drones, in this world's client."""
        model = self.model
        cid = self.client
        p.setGravity(0, 0, -GRAVITY, physicsClientId=cid)
        p.setTimeStep(self.dt, physicsClientId=cid)
        self.ground_id = add_ground(cid)  # an infinite plane, drawn as a gridded quad
        p.changeDynamics(self.ground_id, -1, lateralFriction=GROUND_FRICTION, physicsClientId=cid)
        flags = p.URDF_USE_INERTIA_FROM_FILE | p.URDF_MERGE_FIXED_LINKS
        self.body_ids: list[int] = []
        with _quiet_stdout():
            for i in range(self.num_drones):
                body = p.loadURDF(str(model.urdf_path), [i, 0, 1], flags=flags, physicsClientId=cid)
                # Bullet damps every body by default; a drone in still air is not damped.
                p.changeDynamics(
                    body, -1, linearDamping=0.0, angularDamping=0.0, physicsClientId=cid
                )
                if self.true_model is not model:
                    true = self.true_model
                    p.changeDynamics(
                        body,
                        -1,
                        mass=true.mass,
                        localInertiaDiagonal=true.inertia.tolist(),
                        physicsClientId=cid,
                    )
                self.body_ids.append(body)
        #: Bullet body id -> segmentation id (see quadgym.envs.quad.sim.scene)
        self.labels: dict[int, int] = {self.ground_id: SEG_GROUND}
        self.labels.update({b: SEG_DRONE + i for i, b in enumerate(self.body_ids)})
        # The bodies as loaded (1 m apart, 1 m up: touching nothing), restored at every
        # reset to drop Bullet's contact caches (see _forget_contacts).
        p.performCollisionDetection(physicsClientId=cid)
        self._untouched = p.saveState(physicsClientId=cid)

    # ------------------------------------------------------------------ state
    @property
    def closed(self) -> bool:
        """Whether this world's client is released (by :meth:`close` or collection)."""
        return not self._release.alive

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this World is closed (its PyBullet client is released)")

    @contextlib.contextmanager
    def closed_on_error(self) -> Iterator[World]:
        """Close this world if the ``with`` block raises: an env constructor that fails
        after making its world releases it before the error propagates."""
        try:
            yield self
        except BaseException:
            self.close()
            raise

    def reset(self, state: State, rng: np.random.Generator | None = None) -> None:
        """Put every drone in ``state`` (poses and velocities), nothing reloaded; the
        perturbations' episode draws (thrust spread, gusts) come from ``rng`` (the
        episode's generator; a fixed one if None).

        Raises:
            RuntimeError: the world is closed.
        """
        self._check_open()
        if self._disturb is not None:
            rng = np.random.default_rng(0) if rng is None else rng
            self._disturb.reset(rng, np.arange(self.num_drones))
        self._state = state.copy()
        self.episodes += 1
        self._forget_contacts()
        self._reinstate()
        cid = self.client
        for body, pose in self._placed.items():  # restoreState put them back as added
            p.resetBasePositionAndOrientation(body, *pose, physicsClientId=cid)
        if self._disturb is not None and self._disturb.reshapes:  # this episode's draws
            drawn = self._disturb.body(self.true_model)
            for i, body in enumerate(self.body_ids):
                inertia = drawn.inertia[i].tolist()
                p.changeDynamics(
                    body,
                    -1,
                    mass=float(drawn.mass[i, 0]),
                    localInertiaDiagonal=inertia,
                    physicsClientId=cid,
                )
        self._write_to_bullet()

    # ------------------------------------------------------------------ scene
    def add_static(
        self, boxes: list[tuple[tuple, tuple]], rgba: tuple = (0.9, 0.4, 0.1, 1.0)
    ) -> int:
        """A static body (gates, obstacles) made of boxes, each (half extents (3,), centre
        in the body frame (3,)), m; returns its Bullet id. See :meth:`add_body`."""
        return self.add_body([("box", half, centre) for half, centre in boxes], rgba)

    def add_body(
        self,
        shapes: list[tuple[str, tuple, tuple]],
        rgba: tuple = (0.9, 0.4, 0.1, 1.0),
        collide: bool = True,
        label: int | None = None,
    ) -> int:
        """A static scene body made of ``shapes``, each (kind, size, centre in the body
        frame (3,)): ``"box"`` size = half extents (3,), ``"cylinder"`` (radius, half
        length) along z, ``"sphere"`` (radius,), m; returns its Bullet id. Scene bodies
        are added once, before the first reset, far below the ground, and placed by
        :meth:`place`. ``collide=False``: the drones fly through it (ray casts still
        hit it). ``label``: its segmentation id (default: the next obstacle id,
        :data:`~quadgym.envs.quad.sim.scene.SEG_DRONE` + num_drones + the scene bodies
        labelled so far).

        Raises:
            RuntimeError: the world is closed.
            ValueError: an unknown kind, a size of the wrong length, or a round shape
                among others (:func:`~quadgym.envs.quad.sim.bodies.make_shapes`).
        """
        self._check_open()
        cid = self.client
        shape, visual = make_shapes(cid, shapes, rgba)
        below = [0.0, 0.0, -100.0 - len(self._placed)]
        body = p.createMultiBody(0, shape, visual, below, physicsClientId=cid)
        self._placed[body] = (below, [0.0, 0.0, 0.0, 1.0])
        if label is None:  # the next obstacle id, after the drones'
            first = SEG_DRONE + self.num_drones
            label = first + sum(1 for v in self.labels.values() if v >= first)
        self.labels[body] = int(label)
        if not collide:
            for other in [self.ground_id, *self.body_ids]:
                p.setCollisionFilterPair(body, other, -1, -1, 0, physicsClientId=cid)
        # the snapshot that resets restore must hold the new body
        p.removeState(self._untouched, physicsClientId=cid)
        p.performCollisionDetection(physicsClientId=cid)
        self._untouched = p.saveState(physicsClientId=cid)
        return body

    def place(self, body: int, pos: np.ndarray, yaw: float = 0.0) -> None:
        """Move scene body ``body`` to ``pos`` (3,) m, turned by ``yaw`` rad about z; it
        stays there through resets until placed again."""
        self._check_open()
        quat = p.getQuaternionFromEuler([0.0, 0.0, float(yaw)])
        pose = ([float(x) for x in pos], list(quat))
        self._placed[body] = pose
        p.resetBasePositionAndOrientation(body, *pose, physicsClientId=self.client)

    def touching(self, drone: int, bodies: list[int]) -> bool:
        """Whether drone ``drone`` touches any of the scene ``bodies`` now (Bullet's
        contact points of the last step; ``dyn`` modes run collision detection first)."""
        self._check_open()
        self.sync_bullet()
        cid = self.client
        if self.physics.integrator == "dyn":
            p.performCollisionDetection(physicsClientId=cid)
        me = self.body_ids[drone]
        return any(p.getContactPoints(me, b, physicsClientId=cid) for b in bodies)

    @property
    def active(self) -> np.ndarray:
        """(n,) bool: the drones not retired (a copy)."""
        return self._active.copy()

    def retire(self, drones: ArrayLike) -> State:
        """Take ``drones`` (indices or an (n,) bool mask) out of the simulation until
        the next :meth:`reset`: each stays where it is, at rest (velocities zeroed),
        collides with nothing, exerts no downwash, ignores its motor speeds, and
        costs the integrators nothing (Bullet puts the body to sleep). Retiring a
        retired drone does nothing. Returns the state after (as :meth:`get_state`).

        Raises:
            RuntimeError: the world is closed.
        """
        self._check_open()
        idx = np.asarray(drones)
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.ravel()
        new = [int(i) for i in idx if self._active[i]]
        if not new:
            return self.get_state()
        if self.physics.integrator == "pyb":
            self._state = self._read_from_bullet()
        self._state.vel[new] = 0.0
        self._state.ang_vel[new] = 0.0
        self._active[new] = False
        self._retired.extend(new)
        self._settling.extend(new)
        self._live = np.flatnonzero(self._active)
        self._live_bodies = [self.body_ids[i] for i in self._live]
        cid = self.client
        for i in new:
            body = self.body_ids[i]
            if self.physics.integrator == "pyb":
                p.resetBaseVelocity(body, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), physicsClientId=cid)
            p.setCollisionFilterGroupMask(body, -1, 0, 0, physicsClientId=cid)
            sleep = (p.ACTIVATION_STATE_ENABLE_SLEEPING, p.ACTIVATION_STATE_SLEEP)
            for state in sleep:
                p.changeDynamics(body, -1, activationState=state, physicsClientId=cid)
        return self._state.copy()  # current: the live drones were just read

    def _reinstate(self) -> None:
        """Bring every retired drone back: awake, never sleeping, colliding as loaded
        (bit for bit the episodes of a world that never retired one)."""
        cid = self.client
        wake = (p.ACTIVATION_STATE_WAKE_UP, p.ACTIVATION_STATE_DISABLE_SLEEPING)
        for i in self._retired:
            body = self.body_ids[i]
            for state in wake:
                p.changeDynamics(body, -1, activationState=state, physicsClientId=cid)
            p.setCollisionFilterGroupMask(body, -1, *_DRONE_FILTER, physicsClientId=cid)
        self._retired.clear()
        self._settling.clear()
        self._active[:] = True
        self._live, self._live_bodies = None, self.body_ids

    def _settle(self) -> None:
        """Put the drones retired since the last Bullet step back where they were
        retired. Bullet integrates a body once more before the sleep it was asked for
        takes hold (it falls g·dt², 0.17 mm at 240 Hz); from then on it stays."""
        cid = self.client
        for i in self._settling:
            body = self.body_ids[i]
            pose = (self._state.pos[i].tolist(), self._state.quat[i].tolist())
            p.resetBasePositionAndOrientation(body, *pose, physicsClientId=cid)
            p.resetBaseVelocity(body, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), physicsClientId=cid)
        self._settling.clear()

    def _forget_contacts(self) -> None:
        """Drop Bullet's cached contact manifolds, which warm-start the next contact
        solve and would make an episode depend on the one before it. Putting every
        body back where it was loaded (touching nothing) and running collision
        detection once removes them. One ``restoreState`` call does it for all
        bodies; a pose reset per body costs time in proportion to the bodies in the
        world, which made this step quadratic in the drone count. (Both give the
        same episodes, bit for bit.)"""
        cid = self.client
        p.restoreState(self._untouched, physicsClientId=cid)
        p.performCollisionDetection(physicsClientId=cid)

    def motor_speeds(self) -> np.ndarray | None:
        """(num_drones, 4) the lagging motors' speeds (:func:`perturb.motor_speeds`)."""
        return motor_speeds(self._disturb)

    def episode_parameters(self) -> np.ndarray:
        """(num_drones, 13) the episode's physical parameters
        (:func:`perturb.episode_parameters`)."""
        return episode_parameters(self.perturb, self._disturb, self.num_drones)

    def get_state(self) -> State:
        """The drones' current state (a copy the caller may keep)."""
        if self.physics.integrator == "dyn":
            return self._state.copy()
        return self._read_from_bullet()

    def _read_from_bullet(self) -> State:
        """The state of every drone: the live ones as Bullet has them, the retired
        ones as they were retired."""
        if not self._live_bodies:
            return self._state.copy()
        live, _ = self._read_live()
        if self._live is None:
            return live
        s = self._state.copy()
        s.put(self._live, live)
        return s

    def _read_live(self, rotations: bool = False) -> tuple[State, np.ndarray | None]:
        """The live drones' state as Bullet has it, and (if ``rotations``) their
        (n_live, 3, 3) rotation matrices (the aero wrench needs them too). Two Bullet calls
        per drone, one array built from their tuples (arrays per field cost more than the
        reads at small n); up to ``FLOATS_UP_TO`` drones the body rates are rotated in
        Python floats (NumPy's per-call overhead outweighs that work), beyond in one
        batched product."""
        cid = self.client
        get_pose, get_vel = p.getBasePositionAndOrientation, p.getBaseVelocity
        bodies = self._live_bodies
        rows = []
        if len(bodies) <= FLOATS_UP_TO:
            rots = []
            for body in bodies:
                pos, quat = get_pose(body, cid)
                vel, (wx, wy, wz) = get_vel(body, cid)
                r = rotation(*quat)
                rots.append(r)
                # Bullet reports angular velocity in the world frame; ours is in the body frame.
                body_rates = (
                    r[0] * wx + r[3] * wy + r[6] * wz,
                    r[1] * wx + r[4] * wy + r[7] * wz,
                    r[2] * wx + r[5] * wy + r[8] * wz,
                )
                rows.append(pos + quat + vel + body_rates)
            a = np.array(rows)
            rot = np.array(rots).reshape(-1, 3, 3) if rotations else None
            return State(a[:, 0:3], a[:, 3:7], a[:, 7:10], a[:, 10:13]), rot
        for body in bodies:
            pos, quat = get_pose(body, cid)
            vel, ang = get_vel(body, cid)
            rows.append(pos + quat + vel + ang)
        a = np.array(rows)
        quat = a[:, 3:7]
        rot = dynamics.quat_to_rot(quat)
        ang = np.einsum("nji,nj->ni", rot, a[:, 10:13])
        return State(a[:, 0:3], quat, a[:, 7:10], ang), rot

    def _write_to_bullet(self) -> None:
        cid = self.client
        s = self._state
        ang_world = np.einsum("nij,nj->ni", dynamics.quat_to_rot(s.quat), s.ang_vel)
        for i, body in enumerate(self.body_ids):
            p.resetBasePositionAndOrientation(
                body, s.pos[i].tolist(), s.quat[i].tolist(), physicsClientId=cid
            )
            p.resetBaseVelocity(body, s.vel[i].tolist(), ang_world[i].tolist(), physicsClientId=cid)
        self._bullet_stale = False

    def sync_bullet(self) -> None:
        """Make Bullet's poses current (``dyn`` modes write them lazily)."""
        if self._bullet_stale:
            self._write_to_bullet()

    # ---------------------------------------------------------------- physics
    def step(self, rpm: np.ndarray, substeps: int = 1) -> None:
        """Hold motor speeds ``rpm`` (n, 4), RPM, for ``substeps`` physics steps.

        Raises:
            RuntimeError: the world is closed (``dyn`` would otherwise go on silently).
        """
        self._check_open()
        if self.physics.integrator == "dyn":
            self._step_dyn(rpm, substeps)
        else:
            self._step_pyb(rpm, substeps)

    def _step_dyn(self, rpm: np.ndarray, substeps: int) -> None:
        live = self._live
        state = self._state if live is None else self._state.take(live)
        advance(
            state,
            rpm if live is None else rpm[live],
            self.true_model,
            self.physics if self._aero else None,
            self.dt,
            substeps,
            self.rest_height,
            self._wrench_matrix,
            self._disturb,
            live,
        )
        if live is not None:
            self._state.put(live, state)
        self._bullet_stale = True

    def _step_pyb(self, rpm: np.ndarray, substeps: int) -> None:
        cid = self.client
        live, bodies = self._live, self._live_bodies
        if live is not None:  # retired drones: no forces (and Bullet skips their sleeping bodies)
            rpm = rpm[live]
        wrench = (rpm * rpm) @ self._wrench_matrix
        motor = [(b, (0.0, 0.0, w[0]), w[1:]) for b, w in zip(bodies, wrench.tolist(), strict=True)]
        # Positional client ids: PyBullet parses keywords at ~0.1 µs a call, 16 calls per
        # drone per control step.
        apply_force, apply_torque = p.applyExternalForce, p.applyExternalTorque
        origin, frame = (0.0, 0.0, 0.0), p.LINK_FRAME
        disturb = self._disturb
        per_substep = disturb is not None and disturb.per_motor
        pushed = disturb is not None and disturb.pushes
        local_aero = self._aero and len(bodies) <= physics_module.AERO_FLOATS_UP_TO
        downwash = (
            not local_aero and self._downwash_only and 1 < len(bodies) <= aero.DOWNWASH_FLOATS_UP_TO
        )
        lags = per_substep and disturb.lags
        spinning = rpm  # the speeds the rotors turn at (lagging motors: not the commands)
        if downwash and not lags:  # the drones' thrusts, the same every substep
            thrust = self._thrusts(rpm)
        for _ in range(substeps):
            if per_substep:  # lagging motors, spread thrust: a new wrench every substep
                wrench = disturb.effective(rpm, live) @ self._wrench_matrix
                spinning = disturb.turning(rpm, live)
                motor = [
                    (b, (0.0, 0.0, w[0]), w[1:])
                    for b, w in zip(bodies, wrench.tolist(), strict=True)
                ]
            calls = motor
            if local_aero:
                calls = self._local_aero_calls(bodies, spinning, wrench)  # floats all the way
            elif downwash:
                if lags:
                    thrust = self._thrusts(spinning)
                calls = self._downwash_calls(motor, thrust)  # floats all the way
            elif self._aero and bodies:
                # downwash and the rest among live drones only
                s, rot = self._read_live(rotations=True)
                force_b, torque_b = aero_wrench(self.physics, self.model, s, rot, spinning)
                force_b[:, 2] += wrench[:, 0]
                forces = force_b.tolist()
                torques = (torque_b + wrench[:, 1:]).tolist()
                calls = zip(bodies, forces, torques, strict=True)
            for body, f, t in calls:
                apply_force(body, -1, f, origin, frame, cid)
                apply_torque(body, -1, t, frame, cid)
            if pushed:  # wind and gusts: a world-frame force at each centre of mass
                for body, f in zip(bodies, disturb.force(live).tolist(), strict=True):
                    centre = p.getBasePositionAndOrientation(body, cid)[0]
                    apply_force(body, -1, f, centre, p.WORLD_FRAME, cid)
            p.stepSimulation(cid)
            if self._settling:
                self._settle()

    def _thrusts(self, rpm: np.ndarray) -> list[float]:
        """Each drone's thrust kf·Σω² of rotor speeds ``rpm`` (n, 4), N, on floats, summed
        in NumPy's order (as the batched downwash sums it)."""
        kf = self.model.kf
        return [kf * (((a * a + b * b) + c * c) + d * d) for a, b, c, d in rpm.tolist()]

    def _downwash_calls(self, motor: list, thrust: list) -> list:
        """The force and torque calls of a few drones whose only aero effect is downwash,
        on floats: the motors' calls ``motor`` ((body, force, torque) of each drone, body
        frame) plus :func:`aero.downwash_floats` along body −z, from Bullet's positions and
        each drone's ``thrust`` kf·Σω² (N, summed in NumPy's order); the batched path's
        numbers to round-off (tests/test_columns.py)."""
        cid = self.client
        get_pose = p.getBasePositionAndOrientation
        pos = [get_pose(body, cid)[0] for body, _, _ in motor]
        push = aero.downwash_floats(pos, self.model, thrust, self.physics.downwash_model)
        return [
            (body, (0.0, 0.0, w + f[2]), (0.0 + t[0], 0.0 + t[1], 0.0 + t[2]))
            for (body, f, t), w in zip(motor, push, strict=True)
        ]

    def _local_aero_calls(self, bodies: list[int], rpm: np.ndarray, wrench: np.ndarray) -> list:
        """The force and torque calls of drones whose aero wrench :func:`aero_wrench` works
        on floats (up to ``AERO_FLOATS_UP_TO``: no downwash among them), read and summed
        on floats too: Bullet's pose and velocity, the rotation, :func:`local_wrench` plus
        the motors' wrench. The numbers of the batched read and of aero_wrench's float
        path, without the arrays that cost more than the arithmetic at one drone."""
        cid, model = self.client, self.model
        get_pose, get_vel = p.getBasePositionAndOrientation, p.getBaseVelocity
        motors, coeff = model.motor_pos.tolist(), model.drag_coeff.tolist()
        calls = []
        for body, r, w in zip(bodies, rpm.tolist(), wrench.tolist(), strict=True):
            pos, quat = get_pose(body, cid)
            vel = get_vel(body, cid)[0]
            (fx, fy, fz), (tx, ty, tz) = local_wrench(
                self.physics, model, motors, coeff, pos, rotation(*quat), vel, r
            )
            calls.append((body, (fx, fy, fz + w[0]), (tx + w[1], ty + w[2], tz + w[3])))
        return calls

    def contacts(self) -> list[tuple[int, int]]:
        """Pairs (i, j), i < j, of drones touching each other, and (i, -1) for the ground."""
        self._check_open()
        self.sync_bullet()
        cid = self.client
        if self.physics.integrator == "dyn":
            p.performCollisionDetection(physicsClientId=cid)
        index = {b: i for i, b in enumerate(self.body_ids)}
        pairs = set()
        for c in p.getContactPoints(physicsClientId=cid):
            a, b = index.get(c[1], -1), index.get(c[2], -1)
            if a == -1 and b == -1:
                continue
            pairs.add((max(a, b), -1) if -1 in (a, b) else (min(a, b), max(a, b)))
        return sorted(pairs)

    def close(self) -> None:
        """Disconnect this world's client (the finaliser, run now); again does nothing."""
        self._release()
