"""An SB3 model's trainable state as plain tensors, and back.

SB3's own ``save``/``load`` write a zip whose "data" entry carries cloudpickled objects
(spaces, schedules, the policy class) that ``load`` unpickles, so a crafted file runs code.
quadgym never loads one: the plugin builds its model from its typed config (which the run's
``state.json`` holds as JSON), and a checkpoint only refills what training changes:

- ``parameters``: every state dict SB3 itself saves (``model._get_torch_save_params()``: the
  policy, its optimisers, SAC's entropy optimiser), as ``model.get_parameters()`` gives them;
- ``variables``: the loose tensors SB3 saves beside them (SAC's ``log_ent_coef``);
- ``counters``: the step and update counters training reads (``num_timesteps``,
  ``_n_updates``, ``_episode_num``, ``_n_calls``);
- ``normalization``: ``VecNormalize``'s running mean, variance and count of observations (per
  key for a ``Dict`` space) and of returns, in float64 as SB3 keeps them.

What neither SB3's zip nor this holds: a replay buffer, the envs' state and the rollout in
flight (a resumed run starts its envs afresh, as with SB3's own load).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.utils import get_device
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

#: The integer attributes of an SB3 model that training reads and a checkpoint restores.
COUNTERS = ("num_timesteps", "_n_updates", "_episode_num", "_n_calls")


def _rms_state(rms: RunningMeanStd) -> dict[str, Any]:
    return {
        "mean": torch.from_numpy(np.array(rms.mean, dtype=np.float64)),
        "var": torch.from_numpy(np.array(rms.var, dtype=np.float64)),
        "count": float(rms.count),
    }


def _rms_restore(rms: RunningMeanStd, state: dict[str, Any]) -> None:
    mean = state["mean"].numpy().astype(np.float64)
    if mean.shape != np.shape(rms.mean):
        raise ValueError(
            f"normalisation statistics of shape {tuple(mean.shape)}, "
            f"the env's observations have {np.shape(rms.mean)}"
        )
    rms.mean = mean
    rms.var = state["var"].numpy().astype(np.float64)
    rms.count = float(state["count"])


def model_state(model: BaseAlgorithm, venv: VecEnv) -> dict[str, Any]:
    """What a checkpoint of ``model`` training on ``venv`` holds (see the module docstring)."""
    _, variables = model._get_torch_save_params()
    state: dict[str, Any] = {
        "parameters": model.get_parameters(),
        "variables": {name: _attr(model, name).detach().cpu() for name in variables},
        "counters": {k: int(getattr(model, k)) for k in COUNTERS if hasattr(model, k)},
    }
    if isinstance(venv, VecNormalize):
        obs = venv.obs_rms
        state["normalization"] = {
            "obs": {k: _rms_state(v) for k, v in obs.items()}
            if isinstance(obs, dict)
            else _rms_state(obs),
            "ret": _rms_state(venv.ret_rms),
        }
    return state


def restore_model_state(model: BaseAlgorithm, venv: VecEnv, state: dict[str, Any]) -> None:
    """Refill ``model`` (built from the same config) and ``venv``'s statistics from ``state``.

    Raises:
        KeyError, RuntimeError, ValueError: ``state`` does not fit the model (another
            architecture, missing entries).
    """
    model.set_parameters(state["parameters"], exact_match=True, device=get_device(model.device))
    for name, value in state["variables"].items():
        with torch.no_grad():
            _attr(model, name).copy_(value)
    for key, value in state["counters"].items():
        if key not in COUNTERS:
            raise ValueError(f"unknown counter {key!r} (known: {', '.join(COUNTERS)})")
        setattr(model, key, int(value))
    stats = state.get("normalization")
    if isinstance(venv, VecNormalize):
        if stats is None:
            raise ValueError("the checkpoint has no normalisation statistics; the model has")
        if isinstance(venv.obs_rms, dict):
            for key, rms in venv.obs_rms.items():
                _rms_restore(rms, stats["obs"][key])
        else:
            _rms_restore(venv.obs_rms, stats["obs"])
        _rms_restore(venv.ret_rms, stats["ret"])
    elif stats is not None:
        raise ValueError("the checkpoint has normalisation statistics; the model has none")


def _attr(model: BaseAlgorithm, dotted: str) -> Any:
    """``model.a.b`` for ``"a.b"``."""
    obj: Any = model
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj
