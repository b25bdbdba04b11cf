import numpy as np
import pytest

import quadgym  # noqa: F401  (registers the environments)
from quadgym.envs.quad.models import get_model


@pytest.fixture
def cf2x():
    return get_model("cf2x")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
