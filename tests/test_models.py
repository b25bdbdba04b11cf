"""Drone models: constants as published, derived values computed from them."""

import math

import numpy as np
import pytest

from quadgym.envs.quad.sim.dynamics import motor_wrench
from quadgym.envs.quad.sim.models import GRAVITY, MODEL_NAMES, get_model


def test_cf2x_constants_and_hover_rpm(cf2x):
    assert cf2x.mass == 0.027 and cf2x.arm == 0.0397
    np.testing.assert_allclose(cf2x.inertia, [1.4e-5, 1.4e-5, 2.17e-5])
    assert (cf2x.kf, cf2x.km) == (3.16e-10, 7.94e-12)
    np.testing.assert_allclose(np.abs(cf2x.motor_pos[:, :2]), 0.028)
    # hover: 4·kf·ω² = m·g  ->  ω = sqrt(0.027·9.8 / (4·3.16e-10)) = 14468.4 RPM
    assert cf2x.hover_rpm == pytest.approx(14468.43, abs=0.01)
    assert cf2x.max_rpm == pytest.approx(cf2x.hover_rpm * math.sqrt(2.25))
    assert cf2x.max_thrust == pytest.approx(2.25 * 0.027 * GRAVITY)


def test_cf2p_and_race_constants():
    cf2p, race = get_model("cf2p"), get_model("race")
    assert cf2p.frame == "+"
    np.testing.assert_allclose(cf2p.inertia, [2.3951e-5, 2.3951e-5, 3.2347e-5])
    np.testing.assert_allclose(np.linalg.norm(cf2p.motor_pos, axis=1), 0.0397)
    assert (race.mass, race.arm, race.kf, race.km) == (0.830, 0.109, 8.47e-9, 2.13e-11)
    assert race.thrust2weight == 4.17 and race.prop_radius == 0.127
    np.testing.assert_allclose(np.linalg.norm(race.motor_pos, axis=1), 0.109, rtol=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_hover_rpm_carries_the_weight(name):
    m = get_model(name)
    wrench = motor_wrench(np.full((1, 4), m.hover_rpm), m)
    np.testing.assert_allclose(wrench[0], [m.mass * GRAVITY, 0, 0, 0], atol=1e-12)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_mixer_commands_produce_torques_of_their_sign(name):
    """A positive roll, pitch or yaw command through the mixer gives a positive torque."""
    m = get_model(name)
    for axis in range(3):
        cmd = np.zeros(3)
        cmd[axis] = 1.0  # small: the ω² nonlinearity couples axes at second order
        rpm = m.hover_rpm + m.mixer @ cmd
        torque = motor_wrench(rpm[None], m)[0, 1:]
        assert torque[axis] > 0
        assert np.all(np.abs(np.delete(torque, axis)) < 1e-3 * torque[axis])


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown drone model 'cf3'.*cf2x, cf2p, race"):
        get_model("cf3")
