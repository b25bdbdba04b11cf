"""The Stable-Baselines3 family: ``ppo``, ``sac``, ``td3`` (:mod:`.algorithms`, typed configs
in :mod:`.config`), ``ppo_shared`` for the PettingZoo envs (:mod:`.shared`), image feature
extractors (:mod:`.extractors`) and the model state a checkpoint holds (:mod:`.state`)."""

from quadgym.agents.sb3.algorithms import (
    BatchedVecEnv,
    OffPolicyAlgorithm,
    PPOAlgorithm,
    SACAlgorithm,
    SB3Algorithm,
    TD3Algorithm,
    channels_first,
    make_copy,
    normalizes,
    policy_for,
    replay_bytes,
    vector_keys,
)

__all__ = [
    "BatchedVecEnv",
    "OffPolicyAlgorithm",
    "PPOAlgorithm",
    "SACAlgorithm",
    "SB3Algorithm",
    "TD3Algorithm",
    "channels_first",
    "make_copy",
    "normalizes",
    "policy_for",
    "replay_bytes",
    "vector_keys",
]
