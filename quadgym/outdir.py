"""Output directories of the scripts: checked before any work, owned, cleared before reuse.

Two rules, shared by ``scripts/train.py``, ``train_rllib.py``, ``tune.py``,
``benchmark.py`` and ``evaluate.py``:

- :func:`out_problem`: an ``--out`` that cannot be written (a path under a file, a
  read-only directory) is refused by name before anything is built or flown, not after.
- :func:`claim`: a script writes only into a new or empty directory, or one it wrote
  itself (marked by ``.quadgym-out``, which names the script). Reusing its own
  directory first removes every file an earlier run of it wrote, so a run killed
  midway never leaves the previous command's tables beside its own new files.
  (The directory is renamed aside and made anew: one step, not a file at a time.) The
  mark is written through a temporary file and a rename; a kill between the two leaves that
  temporary file alone in the directory, which counts as empty (and is removed) here.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from pathlib import Path
from typing import Any

#: The file that marks a directory as a script's output (JSON: {"owner": name}).
MARK = ".quadgym-out"


def out_problem(path: str | Path, flag: str = "--out") -> str | None:
    """Why ``path`` cannot become a directory this process writes into, or None.

    The nearest existing ancestor decides: it must be a directory this process may
    create entries in; ``path`` itself, if it exists, must be a writable directory.
    """
    path = Path(path).absolute()
    if path.exists():
        if not path.is_dir():
            return f"{flag} {path} is a file, not a directory"
        if not os.access(path, os.W_OK | os.X_OK):
            return f"{flag} {path} is not writable (read-only mount or permissions)"
        return None
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{flag} {path}: {parent} is a file, not a directory"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"{flag} {path}: {parent} is not writable (read-only mount or permissions)"
            return None
    return None  # pragma: no cover - the root exists


def _stray_mark(entry: Path) -> bool:
    """Whether ``entry`` is a temporary file of the mark (what a kill during :func:`claim`'s
    write of the mark leaves: nothing of a run)."""
    return entry.name.startswith(f".{MARK}.") and entry.suffix == ".tmp"


def _contents(path: Path) -> list[Path]:
    """The entries of the directory ``path`` but the mark's temporary files."""
    return [entry for entry in path.iterdir() if not _stray_mark(entry)]


def owner_of(path: str | Path) -> str | None:
    """The script that marked ``path`` as its output (None: no readable mark)."""
    try:
        data = json.loads((Path(path) / MARK).read_text())
    except (OSError, ValueError):
        return None
    return data.get("owner") if isinstance(data, dict) else None


def claim_problem(path: str | Path, owner: str, flag: str = "--out") -> str | None:
    """Why ``owner`` may not write into ``path`` (see :func:`claim`), or None."""
    problem = out_problem(path, flag)
    if problem:
        return problem
    path = Path(path).absolute()
    if path.is_dir() and _contents(path):
        if owner_of(path) != owner:
            return (
                f"{flag} {path} is not empty and was not written by {owner}; "
                f"give a new or empty directory (or one {owner} wrote)"
            )
        if not os.access(path.parent, os.W_OK | os.X_OK):
            return f"{flag} {path}: {path.parent} is not writable (the old run is moved aside)"
    return None


def claim(path: str | Path, owner: str) -> Path:
    """Make ``path`` ``owner``'s output directory, empty but for the mark.

    An earlier run's directory is cleared in one step: renamed aside (to a hidden sibling,
    removed afterwards, or by the next claim if a kill came first) and made anew, so a kill
    never leaves some of the earlier run's files beside the new run's.

    Raises:
        ValueError: from :func:`claim_problem`.
    """
    from quadgym.files import atomic_write_bytes

    problem = claim_problem(path, owner)
    if problem:
        raise ValueError(problem)
    path = Path(path).absolute()
    aside = path.with_name(f".{path.name}.cleared-{os.getpid()}")
    if path.is_dir():  # a killed claim's temporary mark files go first
        for stray in filter(_stray_mark, path.iterdir()):
            stray.unlink(missing_ok=True)
    if path.is_dir() and any(path.iterdir()):
        try:
            os.rename(path, aside)
        except OSError:  # a mount point, say: emptied in place (the mark kept)
            for entry in path.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                elif entry.name != MARK:
                    entry.unlink()
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path / MARK, json.dumps({"owner": owner}).encode())
    for old in path.parent.glob(f".{glob.escape(path.name)}.cleared-*"):
        shutil.rmtree(old, ignore_errors=True)
    return path


def save_figure(fig: Any, path: str | Path, **kwargs: Any) -> None:
    """``fig.savefig`` to ``path`` through a temporary file and a rename: a kill never
    leaves half an image (``atomic_write_bytes`` for matplotlib figures)."""
    import io

    from quadgym.files import atomic_write_bytes

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", **kwargs)
    atomic_write_bytes(path, buf.getvalue())
