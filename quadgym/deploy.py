"""A trained MLP policy without torch: its weights and observation normalisation in one
``.npz``, and a NumPy runner that acts exactly as the plugin did (to float32 round-off).

``quadgym export --run RUN --format numpy`` writes the file (:mod:`quadgym.export`);
this module reads it with NumPy alone (``allow_pickle=False``: nothing in the file runs),
so a policy flies where torch cannot be installed (a companion computer, a browser's
Pyodide). The computation, for an observation ``o`` (float32, ``(obs_dim,)`` or
``(batch, obs_dim)``)::

    x = clip((o - obs_mean) / obs_std, -obs_clip, obs_clip)      # VecNormalize's, folded in
    x = act(x @ W_k.T + b_k)   for every hidden layer k            # act: tanh or relu
    a = clip(x @ W_out.T + b_out, action_low, action_high)         # the deterministic action
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from quadgym.files import atomic_write_bytes

#: The activations the runner knows (SB3's MLP policies use these).
ACTIVATIONS = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}
#: The format's version, saved in the file (a reader refuses another).
FORMAT = 1


@dataclass(frozen=True)
class MLPPolicy:
    """A deterministic MLP policy with its observation normalisation: ``obs_mean``,
    ``obs_std`` (``sqrt(var + eps)``, in the observation's units) and ``obs_clip``
    (normalised units; ``inf`` for none); ``weights[k]`` is ``(out, in)`` and
    ``biases[k]`` ``(out,)``, hidden layers then the output; the action is clipped to
    ``[action_low, action_high]`` (the action space's bounds)."""

    obs_mean: np.ndarray
    obs_std: np.ndarray
    obs_clip: float
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activation: str
    action_low: np.ndarray
    action_high: np.ndarray

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ValueError("weights and biases must be as many, at least one layer")
        width = self.obs_mean.shape[0]
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if w.ndim != 2 or w.shape[1] != width or b.shape != (w.shape[0],):
                raise ValueError(f"layer {k}: weights {w.shape} and bias {b.shape} do not chain")
            width = w.shape[0]
        if self.action_low.shape != (width,) or self.action_high.shape != (width,):
            raise ValueError(f"action bounds must be ({width},), got {self.action_low.shape}")

    @property
    def obs_dim(self) -> int:
        return int(self.obs_mean.shape[0])

    def act(self, observation: np.ndarray) -> np.ndarray:
        """The action for one observation ``(obs_dim,)`` or a batch ``(batch, obs_dim)``.

        Raises:
            ValueError: an observation of another width.
        """
        obs = np.asarray(observation, dtype=np.float32)
        if obs.shape[-1:] != (self.obs_dim,):
            raise ValueError(f"observation must end in ({self.obs_dim},), got {obs.shape}")
        x = np.clip((obs - self.obs_mean) / self.obs_std, -self.obs_clip, self.obs_clip)
        activation = ACTIVATIONS[self.activation]
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            x = activation(x @ w.T + b)
        out = x @ self.weights[-1].T + self.biases[-1]
        return np.clip(out, self.action_low, self.action_high).astype(np.float32)

    def save(self, path: str | Path) -> None:
        """Write the policy as an ``.npz`` of float32 arrays (atomically)."""
        arrays = {
            "format": np.array(FORMAT),
            "activation": np.array(self.activation),
            "obs_mean": self.obs_mean,
            "obs_std": self.obs_std,
            "obs_clip": np.array(self.obs_clip, dtype=np.float32),
            "action_low": self.action_low,
            "action_high": self.action_high,
            **{f"weight_{k}": w for k, w in enumerate(self.weights)},
            **{f"bias_{k}": b for k, b in enumerate(self.biases)},
        }
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> MLPPolicy:
        """Read a policy :meth:`save` wrote (no pickles: object arrays are refused).

        Raises:
            ValueError: not such a file, or another format version.
        """
        with np.load(Path(path), allow_pickle=False) as data:
            if "format" not in data or int(data["format"]) != FORMAT:
                raise ValueError(f"{path} is not a quadgym MLP policy of format {FORMAT}")
            layers = sum(1 for name in data.files if name.startswith("weight_"))
            return cls(
                obs_mean=data["obs_mean"],
                obs_std=data["obs_std"],
                obs_clip=float(data["obs_clip"]),
                weights=tuple(data[f"weight_{k}"] for k in range(layers)),
                biases=tuple(data[f"bias_{k}"] for k in range(layers)),
                activation=str(data["activation"]),
                action_low=data["action_low"],
                action_high=data["action_high"],
            )
