"""The one config of the three quad faces: every invalid argument is refused by name before
anything is built, the config round-trips, the faces agree on it, and the env cards list
every constructor argument."""

import dataclasses
import inspect
import json
import math
import re

import gymnasium as gym
import numpy as np
import pybullet
import pytest
from gymnasium.vector import AutoresetMode

import quadgym  # noqa: F401 - registers the ids
from quadgym.envs import quad_swarm_v0
from quadgym.envs.quad import single, swarm
from quadgym.envs.quad.config import QuadConfig, SwarmConfig, VectorConfig
from quadgym.envs.quad.single import QuadHoverEnv
from quadgym.envs.quad.swarm import SwarmEnv
from quadgym.envs.quad.tasks.base import StartNoise
from quadgym.envs.quad.vector import QuadHoverVectorEnv

#: Each face's constructor (``test_public_entry_points_pass_the_errors_on`` checks
#: ``gym.make``, ``gym.make_vec`` and ``parallel_env``).
FACES = {
    "single": QuadHoverEnv,
    "swarm": SwarmEnv,
    "vector": lambda **kw: QuadHoverVectorEnv(**{"num_envs": 2, **kw}),
}

NAN, INF = float("nan"), float("inf")

#: (argument, bad value, exception): refused by every face that takes the argument.
SHARED_BAD = [
    ("drone_model", "cf9", ValueError),
    ("drone_model", 2, TypeError),
    ("num_drones", 0, ValueError),
    ("num_drones", 1.5, TypeError),
    ("num_drones", True, TypeError),
    ("physics", "bullet", ValueError),
    ("physics", None, TypeError),
    ("physics_hz", 0, ValueError),
    ("physics_hz", 240.5, TypeError),
    ("control_hz", 7, ValueError),
    ("control_hz", -30, ValueError),
    ("control_hz", "30", TypeError),
    ("action_type", "torque", ValueError),
    ("action_type", None, TypeError),
    ("start_height", -0.1, ValueError),
    ("start_height", NAN, ValueError),
    ("start_xy_noise", -0.1, ValueError),
    ("start_xy_noise", INF, ValueError),
    ("start_xy_noise", "0.1", TypeError),
    ("start_yaw_noise", 4.0, ValueError),
    ("start_tilt_noise", 2.0, ValueError),
    ("start_tilt_noise", NAN, ValueError),
    ("start_vel_noise", -INF, ValueError),
    ("start_height_noise", -1.0, ValueError),
    ("episode_seconds", 0.0, ValueError),
    ("episode_seconds", NAN, ValueError),
    ("episode_seconds", 0.001, ValueError),  # shorter than one control step
    ("max_tilt", 0.0, ValueError),
    ("max_tilt", 4.0, ValueError),
    ("box", 0.0, ValueError),
    ("box", INF, ValueError),
    ("render_mode", "ansi", ValueError),
    ("render_mode", 1, TypeError),
]
#: The faces that render (the batched backend does not).
RENDER_BAD = [("render_width", 8, ValueError), ("render_height", 5000, ValueError)]
POINT_BAD = [
    ("start", [1.0, 2.0], ValueError),
    ("start", [0.0, NAN, 0.0], ValueError),
    ("start", "origin", TypeError),
    ("target", [INF, 0.0, 1.0], ValueError),
    ("target", np.zeros((2, 3)), ValueError),
    ("target", [[0, 0, 1], [0, 0, "x"]], TypeError),
]
SWARM_BAD = [
    ("formation", "star", ValueError),
    ("formation", [[0.0, 0.0, NAN]] * 4, ValueError),
    ("formation", np.zeros((4, 2)), ValueError),
    ("formation", 7, TypeError),
    ("spacing", 0.0, ValueError),
    ("altitude", -1.0, ValueError),
    ("k_neighbors", -1, ValueError),
    ("k_neighbors", 1.5, TypeError),
    ("collision_distance", NAN, ValueError),
    ("render_mode", "human", ValueError),  # no GUI for the swarm
]
VECTOR_BAD = [
    ("num_envs", 0, ValueError),
    ("num_envs", "2", TypeError),
    ("autoreset_mode", "often", ValueError),
    ("autoreset_mode", 3, TypeError),
    ("physics", "pyb", ValueError),  # needs Bullet
    ("physics", "dyn_dw", ValueError),  # needs drones sharing a world
    ("num_drones", 2, ValueError),
    ("render_mode", "rgb_array", ValueError),
    # before: "did you mean 'render_width'?", naming the argument given
    ("render_width", 640, TypeError),
    ("camera_width", 64, TypeError),
]

CASES = (
    [(face, *case) for face in FACES for case in SHARED_BAD]
    + [(face, *case) for face in ("single", "vector") for case in POINT_BAD]
    + [(face, *case) for face in ("single", "swarm") for case in RENDER_BAD]
    + [("swarm", *case) for case in SWARM_BAD]
    + [("vector", *case) for case in VECTOR_BAD]
)


@pytest.fixture
def nothing_built(forbid):
    """Fail the test if a PyBullet client or a World is made."""
    forbid((pybullet, "connect"), (single, "World"), (swarm, "World"))


@pytest.mark.parametrize(
    "face, name, value, error",
    CASES,
    ids=[f"{c[0]}-{c[1]}={c[2]!r}" for c in CASES],
)
def test_invalid_arguments_are_refused_by_name_before_anything_is_built(
    nothing_built, face, name, value, error
):
    with pytest.raises(error, match=re.escape(name)):
        FACES[face](**{name: value})


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: gym.make("QuadHover-v0", **kw),
        lambda **kw: gym.make_vec("QuadHover-v0", num_envs=2, **kw),
        quad_swarm_v0.parallel_env,
        quad_swarm_v0.env,
    ],
    ids=["make", "make_vec", "parallel_env", "env"],
)
def test_public_entry_points_pass_the_errors_on(nothing_built, make):
    with pytest.raises(TypeError, match="physics_hz"):
        make(physics_hz=240.5)
    with pytest.raises(ValueError, match="start_tilt_noise"):
        make(start_tilt_noise=NAN)


def test_messages_name_the_value_and_what_is_allowed():
    cases = [
        ({"drone_model": "cf9"}, "drone_model must be one of 'cf2x', 'cf2p', 'race', got 'cf9'"),
        ({"start_xy_noise": NAN}, "start_xy_noise must be a finite number, got nan"),
        ({"start_xy_noise": -0.1}, "start_xy_noise must be >= 0.0, got -0.1"),
        ({"num_drones": 1.5}, "num_drones must be int, got float 1.5"),
        ({"max_tilt": 4.0}, "max_tilt must be <= 3.14159"),
        ({"render_mode": "ansi"}, "render_mode must be one of 'rgb_array', 'human', got 'ansi'"),
        ({"physics": "bullet"}, "physics: unknown physics mode 'bullet'; allowed: 'pyb' or 'dyn'"),
        ({"target": [1.0, 2.0]}, r"target must be a finite \(3,\) point or \(N, 3\) array"),
        ({"target": np.zeros((2, 3))}, "target holds 2 points but num_drones=1"),
    ]
    for kwargs, match in cases:
        with pytest.raises((TypeError, ValueError), match=match):
            QuadConfig(**kwargs)


def test_defaults_are_valid_and_normalised():
    cfg = QuadConfig(
        num_drones=np.int64(2), physics_hz=np.int32(240), box=np.float32(1.5), start=np.zeros(3)
    )
    assert type(cfg.num_drones) is int and type(cfg.physics_hz) is int
    assert type(cfg.box) is float and cfg.box == 1.5
    assert type(QuadConfig(physics_hz=240.0).physics_hz) is int  # integral floats, as every config
    assert cfg.start == (0.0, 0.0, 0.0) and cfg.target is None
    assert QuadConfig(num_drones=2, start=np.ones((2, 3))).start == ((1.0, 1.0, 1.0),) * 2
    assert VectorConfig(autoreset_mode=AutoresetMode.SAME_STEP).autoreset_mode == "same_step"
    assert VectorConfig(autoreset_mode="SameStep").autoreset is AutoresetMode.SAME_STEP
    assert SwarmConfig(formation=np.zeros((2, 3))).formation == ((0.0, 0.0, 0.0),) * 2
    for cls in (QuadConfig, SwarmConfig, VectorConfig):
        for f in dataclasses.fields(cls):
            assert f.metadata["doc"], f"{cls.__name__}.{f.name} has no doc"


def test_config_round_trips():
    cfg = QuadConfig(
        drone_model="cf2p",
        num_drones=2,
        physics="dyn_gnd_drag",
        control_hz=48,
        action_type="pid",
        start=[[0, 0, 0], [1, 0, 0]],
        target=[0.5, 0.5, 1.5],
        start_tilt_noise=0.1,
        render_mode="rgb_array",
    )
    assert QuadConfig(**cfg.to_dict()) == cfg
    assert QuadConfig(**json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert hash(QuadConfig(**cfg.to_dict())) == hash(cfg)
    assert dataclasses.replace(cfg, box=3.0).box == 3.0
    with pytest.raises(ValueError, match="box"):
        dataclasses.replace(cfg, box=-1.0)  # replace validates too
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.box = 3.0
    for extra in (SwarmConfig(formation="line", k_neighbors=3), VectorConfig(8, "disabled")):
        assert type(extra)(**json.loads(json.dumps(extra.to_dict()))) == extra
    env = QuadHoverEnv(**cfg.to_dict())
    try:
        assert env.config == cfg
    finally:
        env.close()


SHARED = dict(
    drone_model="cf2p",
    num_drones=1,
    physics="dyn_gnd",
    physics_hz=120,
    control_hz=40,
    action_type="pid",
    start_height=0.2,
    start_xy_noise=0.2,
    start_yaw_noise=0.1,
    start_tilt_noise=0.05,
    start_vel_noise=0.1,
    start_height_noise=0.3,
    episode_seconds=2.0,
    max_tilt=1.0,
    box=3.0,
)


def test_the_three_faces_build_the_same_config_and_start_noise():
    one = QuadHoverEnv(**SHARED)
    many = SwarmEnv(**SHARED)
    lanes = QuadHoverVectorEnv(num_envs=3, **SHARED)
    try:
        assert one.config == many.config == lanes.config == QuadConfig(**SHARED)
        noise = StartNoise(0.2, 0.1, 0.05, 0.1, 0.3)
        assert one.noise == many.noise == lanes.noise == one.config.start_noise == noise
        assert one.substeps == many.substeps == lanes.substeps == 3
        assert one.max_steps == many.max_steps == lanes.max_steps == 80
        points = dict(start=[0.3, 0.1, 0.0], target=[0.0, 0.0, 1.5])
        a, b = QuadHoverEnv(**SHARED, **points), QuadHoverVectorEnv(**SHARED, **points)
        assert a.config == b.config
        np.testing.assert_array_equal(a.target, b.target[:1])
        np.testing.assert_array_equal(a.start, b.start[:1])
        a.close()
    finally:
        one.close()
        many.close()


def _named(cls) -> set[str]:
    """The constructor's named parameters; its ``**options`` (the task's own options,
    checked by the task's config) must be there too."""
    params = inspect.signature(cls).parameters
    assert params["options"].kind is inspect.Parameter.VAR_KEYWORD, cls.__name__
    return {name for name in params if name != "options"}


def test_every_constructor_argument_lands_in_a_config():
    quad = {f.name for f in dataclasses.fields(QuadConfig)}
    extras = {
        QuadHoverEnv: set(),
        SwarmEnv: {f.name for f in dataclasses.fields(SwarmConfig)},
        QuadHoverVectorEnv: {f.name for f in dataclasses.fields(VectorConfig)},
    }
    for cls, own in extras.items():
        params = _named(cls)
        assert params <= quad | own, (cls.__name__, params - quad - own)
        assert own <= params
    assert _named(QuadHoverEnv) == quad
    swarm_params = _named(SwarmEnv)
    assert swarm_params == (quad - {"start", "target"}) | extras[SwarmEnv]  # formation places


def _default_text(default):
    return f'"{default}"' if isinstance(default, str) else repr(default)


@pytest.mark.parametrize("cls", [QuadHoverEnv, SwarmEnv])
def test_cards_list_every_argument_with_its_type_and_default(cls):
    doc = inspect.getdoc(cls)
    for section in (
        "## Description",
        "## Action Space",
        "## Observation Space",
        "## Rewards",
        "## Starting State",
        "## Episode End",
        "## Arguments",
        "## Version History",
    ):
        assert section in doc, (cls.__name__, section)
    arguments = doc.split("## Arguments")[1].split("\n## ")[0]
    rows = {}
    for line in arguments.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("``"):
            rows[cells[0].strip("`")] = cells
    params = {n: p for n, p in inspect.signature(cls).parameters.items() if n in _named(cls)}
    for name, param in params.items():
        assert name in rows, f"{cls.__name__}'s card does not list {name}"
        _, type_cell, default_cell, description = rows[name]
        assert type_cell.startswith("**") and description, (name, rows[name])
        assert default_cell == _default_text(param.default), (name, default_cell)
    assert set(rows) == set(params)
    assert "``**options``" in arguments  # the task's own options, documented too


def test_swarm_card_documents_the_state_layout():
    doc = inspect.getdoc(SwarmEnv)
    state = doc.split("## State")[1].split("\n## ")[0]
    assert "k = 17·i" in state and "alive" in state
    assert math.isclose(swarm.STATE_PER_DRONE, 17)
    assert "State Shape" in quad_swarm_v0.__doc__
