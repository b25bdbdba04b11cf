import numpy as np
import pytest
import torch

import quadgym  # noqa: F401  (registers the environments)
from quadgym.envs.quad.sim.models import get_model

# Small torch runs: one thread. Two threads on two busy cores made runs ten times slower.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Put torch back to one thread after each test: a script's ``main`` run in the test's
    process sets the run's thread count (scripts/train.py: ``--threads``, kept in the run),
    and two threads would then slow every later test of that pytest-xdist worker."""
    yield
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


@pytest.fixture
def cf2x():
    return get_model("cf2x")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_collection_modifyitems(config, items):
    """Run the long (``slow``) tests first, so that with pytest-xdist they overlap the
    many short ones instead of running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def forbid(monkeypatch):
    """``forbid((module, "name"), ...)``: the test fails if any of them is called (to show
    that a refused argument builds nothing: no env, no PyBullet client)."""

    def patch(*targets):
        for owner, name in targets:

            def refuse(*args, _name=name, **kwargs):
                raise AssertionError(f"{_name} was called: something was built")

            monkeypatch.setattr(owner, name, refuse)

    return patch


@pytest.fixture
def ray_alone():
    """Run the test while no other test of this machine runs Ray (pytest-xdist workers
    take turns on a file lock): two local Ray clusters starting at once on 2 cores fight
    over ports and CPUs (a GCS that fails to start, trials cancelled before they run)."""
    import fcntl
    import tempfile
    from pathlib import Path

    with Path(tempfile.gettempdir(), "quadgym-tests-ray.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
