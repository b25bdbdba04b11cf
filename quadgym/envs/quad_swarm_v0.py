"""PettingZoo module convention: ``from quadgym.envs import quad_swarm_v0``.

``quad_swarm_v0.parallel_env(num_drones=4)``, ``quad_swarm_v0.env()`` (AEC),
``quad_swarm_v0.raw_env()``; see :class:`quadgym.envs.quad.swarm.SwarmEnv`.
"""

from quadgym.envs.quad.swarm import SwarmEnv, env, parallel_env, raw_env

metadata = SwarmEnv.metadata
__all__ = ["env", "metadata", "parallel_env", "raw_env"]
