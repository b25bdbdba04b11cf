"""Writing a reproduction's files: each through a temporary file and a rename
(:func:`quadgym.agents.base.atomic_write_bytes`), so that no reader sees half a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quadgym.files import atomic_write_bytes


def write_text(path: str | Path, text: str) -> None:
    """``text`` to ``path`` (UTF-8), atomically."""
    atomic_write_bytes(path, text.encode())


def write_json(path: str | Path, obj: Any) -> None:
    """``obj`` as JSON to ``path``, atomically (NaN written as JSON's ``NaN``, which
    Python's json reads back)."""
    atomic_write_bytes(path, json.dumps(obj, indent=1).encode())
