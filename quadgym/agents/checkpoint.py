"""Checkpoints of torch-based plugins: one file, stamped with the plugin and env it belongs to.

``write_checkpoint`` adds the plugin's name, its env id and its typed config
(as JSON, for a reader of the file; a plugin restores its state from its own
fields) to the state a plugin hands over and writes it atomically; ``read_checkpoint`` reads
it back and refuses a file that is unreadable or belongs to another plugin or
env, with a ``ValueError`` that says which.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch

from quadgym.agents.base import Algorithm, atomic_write_bytes


def env_id(algo: Algorithm) -> str | None:
    """The registered id of ``algo``'s env (None for an unregistered instance)."""
    return getattr(algo.env.spec, "id", None)


def write_checkpoint(algo: Algorithm, path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (anything ``torch.save`` takes) with ``algo``'s identity to ``path``.

    The config is stored as the JSON of ``algo.config.to_dict()`` (its saveable
    fields); a value JSON cannot hold (a class in ``policy_kwargs``) is written as text.
    """
    stamped = {
        **state,
        "algo": algo.name,
        "env": env_id(algo),
        "config": json.dumps(algo.config.to_dict(), default=str),
    }
    buf = io.BytesIO()
    torch.save(stamped, buf)
    atomic_write_bytes(path, buf.getvalue())


def read_checkpoint(algo: Algorithm, path: str | Path) -> dict[str, Any]:
    """The state written by :func:`write_checkpoint` for the same plugin and env.

    Raises:
        ValueError: the file is not a readable checkpoint, or was written by
            another plugin or for another env.
    """
    try:
        ckpt = torch.load(path, weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise ValueError(f"{path} is not a readable checkpoint: {exc}") from None
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path} is not a quadgym checkpoint (it holds a {type(ckpt).__name__})")
    if ckpt.get("algo") != algo.name or ckpt.get("env") != env_id(algo):
        raise ValueError(
            f"{path} is a checkpoint of {ckpt.get('algo')!r} on {ckpt.get('env')!r}, "
            f"not of {algo.name!r} on {env_id(algo)!r}"
        )
    return ckpt
