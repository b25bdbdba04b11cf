"""The asymmetric actor-critic of ``ppo``'s and ``ppo_shared``'s ``asymmetric_critic``
(Eschmann et al., "Learning to Fly in Seconds"; Chen et al., SimpleFlight): the value
function is told what the policy must do without.

The training envs append the privileged vector to each observation (the quad faces'
``privileged=True``: the true state, the episode's time and its perturbation parameters,
:data:`quadgym.envs.quad.episode.PRIVILEGED`). :class:`AsymmetricPolicy` is SB3's
``ActorCriticPolicy`` with two feature extractors: the actor's (:class:`ActorColumns`)
drops those last columns, so its actions cannot depend on them, and the critic's reads the
whole observation. PPO itself is SB3's, unchanged: it only ever calls the policy. The
actor alone is what flies and what :mod:`quadgym.export` writes; it takes the env's own
observation, without the privileged columns.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import FlattenExtractor, MlpExtractor


class ActorColumns(FlattenExtractor):
    """The flattened observation without its last ``privileged`` columns (the actor's view).

    Args:
        observation_space: the training envs' observations (privileged columns included).
        privileged: how many trailing columns the actor must not see (>= 1, fewer than
            the observation has).
    """

    def __init__(self, observation_space: gym.spaces.Box, privileged: int) -> None:
        super().__init__(observation_space)
        full = self.features_dim
        if not 1 <= privileged < full:
            raise ValueError(f"privileged={privileged} columns of a {full}-column observation")
        self.keep = full - privileged
        self._features_dim = self.keep

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.flatten(observations)[:, : self.keep]


class AsymmetricPolicy(ActorCriticPolicy):
    """SB3's MLP actor-critic whose actor reads all but the last ``privileged_dim``
    observation columns and whose critic reads them all (separate networks of the same
    ``net_arch``). Other keywords: ``ActorCriticPolicy``'s."""

    def __init__(self, *args: Any, privileged_dim: int, **kwargs: Any) -> None:
        self.privileged_dim = int(privileged_dim)
        kwargs["share_features_extractor"] = False
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        """The actor's extractor drops the privileged columns; the actor's MLP takes what is
        left and the critic's MLP the whole observation."""
        actor = ActorColumns(self.observation_space, self.privileged_dim)
        self.features_extractor = self.pi_features_extractor = actor
        self.features_dim = actor.features_dim

        def mlp(features: int) -> MlpExtractor:
            return MlpExtractor(features, self.net_arch, self.activation_fn, self.device)

        self.mlp_extractor = mlp(actor.features_dim)
        self.mlp_extractor.value_net = mlp(self.vf_features_extractor.features_dim).value_net

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "privileged_dim": self.privileged_dim}
