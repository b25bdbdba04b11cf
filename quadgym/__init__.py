"""quadgym: a multi-quadcopter simulator and small paper environments for Gymnasium.

Importing the package registers every environment id with Gymnasium::

    import gymnasium as gym
    import quadgym  # noqa: F401

    env = gym.make("QuadHover-v0")
"""

from quadgym import moved

moved.install()

from quadgym import registry  # noqa: E402
from quadgym.registry import describe_algo, list_algos, list_envs, make_algo  # noqa: E402

registry.register_envs()

__version__ = "0.2.0"
__all__ = ["describe_algo", "list_algos", "list_envs", "make_algo", "registry", "__version__"]
