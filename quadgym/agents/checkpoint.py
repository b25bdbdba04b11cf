"""Checkpoints of the torch-based plugins, in a format that cannot carry code.

A run directory is something people hand each other (the project ships eight in
``baselines/``), so loading one must never run what is inside it. A checkpoint is one
JSON object (the plugins without tensors: ``pid``, ``lqr``) or one torch file
(``torch.save``'s zip) holding only tensors, numbers, strings, bools, None and lists,
tuples and dicts of them, read back with ``torch.load(weights_only=True)``:
PyTorch's restricted unpickler, which refuses any other global (a class, a function such
as ``os.system``) before it is called. The typed config rides along as JSON text.

``write_checkpoint`` stamps the state a plugin hands over with the plugin's name, its env
id, the format and the config, checks that the state is plain data (so a plugin that put
an object in it fails at save, not at its user's load) and writes it atomically;
``read_checkpoint`` reads it back and refuses, with an :class:`UnsafeCheckpointError` or a
``ValueError`` that says which, a file that would need to run code, an old pickled format,
an unreadable file, or one that belongs to another plugin or env.

What is and is not safe is said once, in the README's "Loading runs safely".
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from quadgym.agents.base import Algorithm
from quadgym.files import atomic_write_bytes
from quadgym.registry import base_id

#: The value of a checkpoint's ``format`` entry.
FORMAT = "quadgym-tensors-1"

#: What the old SB3 checkpoints (pickled objects inside) hold; recognised to say so.
_LEGACY_SB3_ENTRIES = {"quadgym.txt", "model.zip"}

_PLAIN = (str, int, float, bool, type(None), torch.Tensor, torch.Size, torch.dtype)

#: The key that marks a NumPy array stored as a tensor (decoded back on reading).
_NDARRAY = "__ndarray__"


class UnsafeCheckpointError(ValueError):
    """A checkpoint that loading would have to run code for (a pickled object), refused."""


def env_id(algo: Algorithm) -> str | None:
    """The registered id of ``algo``'s env: the plugin's own ``env_id`` where it keeps one
    (the SB3 adapters, which build their envs from it), else its env's spec id (None for an
    unregistered instance)."""
    own = getattr(algo, "env_id", None)
    if isinstance(own, str):
        return base_id(own)
    return base_id(getattr(getattr(algo.env, "spec", None), "id", None))


def check_plain(value: Any, where: str = "state") -> None:
    """Raise ``TypeError`` naming the first entry of ``value`` that is not plain data
    (tensors, numbers, strings, bools, None, and lists, tuples and string- or
    int-keyed dicts of them): what ``torch.load(weights_only=True)`` reads back."""
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str | int):
                raise TypeError(f"{where} has a key {key!r} of type {type(key).__name__}")
            check_plain(item, f"{where}[{key!r}]")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__name__}: a checkpoint holds "
        "only tensors, numbers, strings, bools, None and lists/tuples/dicts of them"
    )


def encode(value: Any) -> Any:
    """``value`` with every NumPy array replaced by ``{"__ndarray__": tensor}`` (same dtype,
    same bits) and every NumPy scalar by its Python number, so a plugin may hand over the
    arrays it keeps; :func:`decode` undoes it."""
    if isinstance(value, np.ndarray):
        return {_NDARRAY: torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(encode(v) for v in value)
    return value


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, dict):
        if set(value) == {_NDARRAY} and isinstance(value[_NDARRAY], torch.Tensor):
            return value[_NDARRAY].numpy()
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(decode(v) for v in value)
    return value


def write_checkpoint(algo: Algorithm, path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plain data, see :func:`check_plain`; NumPy arrays allowed) with
    ``algo``'s identity to ``path``, atomically.

    The config is stored as the JSON of ``algo.config.to_dict()`` (its saveable
    fields); a value JSON cannot hold (a class in ``policy_kwargs``) is written as text.

    Raises:
        TypeError: ``state`` holds something other than plain data.
    """
    stamped = {
        **encode(state),
        "format": FORMAT,
        "algo": algo.name,
        "env": env_id(algo),
        "config": json.dumps(algo.config.to_dict(), default=str),
    }
    check_plain(stamped)
    buf = io.BytesIO()
    torch.save(stamped, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_plain(path: str | Path) -> dict[str, Any]:
    """The dict in the checkpoint at ``path``, read without running anything in it.

    Raises:
        UnsafeCheckpointError: the file holds pickled objects (an old SB3 checkpoint, or a
            crafted one): reading it would run their code.
        ValueError: the file is unreadable or not a dict.
        OSError: the file is missing or is a directory.
    """
    path = Path(path)
    with open(path, "rb") as f:  # a missing file or a directory fails here, as OSError
        json_text = f.read(1) == b"{"
    if json_text:  # the plugins without tensors (pid, lqr) write JSON: safe as it is
        try:
            ckpt = json.loads(path.read_text())
        except ValueError as exc:
            raise ValueError(f"{path} is not a readable checkpoint: {exc}") from None
        if not isinstance(ckpt, dict):
            raise ValueError(f"{path} is not a quadgym checkpoint (a JSON {type(ckpt).__name__})")
        return ckpt
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if _LEGACY_SB3_ENTRIES <= set(z.namelist()):
                raise UnsafeCheckpointError(
                    f"{path} is an SB3 checkpoint of quadgym 0.1 (an SB3 zip and pickled "
                    "normalisation statistics): loading it would unpickle, which can run "
                    "code, so quadgym refuses it. If you trust where it came from, convert it "
                    f"once with: python scripts/convert_checkpoint.py --trust --runs {path.parent}"
                )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        refused = [ln.strip() for ln in str(exc).splitlines() if "GLOBAL" in ln]
        if not refused:  # garbage, not a refused object
            raise ValueError(f"{path} is not a readable checkpoint: {exc}") from None
        first = refused[0]
        raise UnsafeCheckpointError(
            f"{path} holds Python objects that loading would run ({first}); quadgym reads "
            "only checkpoints of tensors and plain data (torch.load(weights_only=True)) and "
            "refuses this file. Do not load it with weights_only=False unless you trust "
            "where it came from."
        ) from None
    except Exception as exc:  # noqa: BLE001 - any other failure is a bad file
        raise ValueError(f"{path} is not a readable checkpoint: {exc}") from None
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path} is not a quadgym checkpoint (it holds a {type(ckpt).__name__})")
    return decode(ckpt)


def read_checkpoint(algo: Algorithm, path: str | Path) -> dict[str, Any]:
    """The state written by :func:`write_checkpoint` for the same plugin and env.

    Raises:
        UnsafeCheckpointError: the file would need code run to load (see :func:`load_plain`).
        ValueError: the file is not a readable checkpoint, or was written by
            another plugin or for another env.
    """
    ckpt = load_plain(path)
    if ckpt.get("algo") != algo.name or ckpt.get("env") != env_id(algo):
        raise ValueError(
            f"{path} is a checkpoint of {ckpt.get('algo')!r} on {ckpt.get('env')!r}, "
            f"not of {algo.name!r} on {env_id(algo)!r}"
        )
    return ckpt
