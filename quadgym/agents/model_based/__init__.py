"""The model-based family: controllers that need no training, over
:class:`~quadgym.agents.model_based.base.ModelBasedAgent` (state off the observation, the
planner): ``pid`` (:mod:`.pid`) and ``lqr`` (:mod:`.lqr`)."""

from quadgym.agents.model_based.base import ModelBasedAgent

__all__ = ["ModelBasedAgent"]
