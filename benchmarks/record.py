"""The stamp every recorded benchmark result carries, and the one way results are written.

A figure in ``benchmarks/results/*.json`` is only worth committing if a reader
can tell how it was produced and on what: so every benchmark script starts with
:func:`stamp` (the exact command line, UTC date, git commit, machine, package
versions and the 1-minute load average at the start) and ends with
:func:`write_result`, which adds the load average at the end and the elapsed
wall-clock time, and replaces the JSON file atomically (a run that dies half-way
never leaves a truncated result behind). The scripts import it as ``record``
because ``python benchmarks/<script>.py`` puts this folder first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
PACKAGES = ("numpy", "torch", "pybullet", "gymnasium", "stable-baselines3", "pettingzoo")


def arguments(doc: str, out_name: str | None) -> argparse.ArgumentParser:
    """The parser every benchmark starts from: its docstring as help, and ``--out``.

    ``out_name`` is the default file under ``benchmarks/results/``; ``None`` leaves
    ``--out`` empty so the script can choose the name from its other options.
    """
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    default = str(RESULTS / out_name) if out_name else ""
    ap.add_argument("--out", default=default, help=f"JSON to write (default: {default or 'auto'})")
    return ap


def _repo_relative(path: str) -> str:
    """``path`` relative to the repository when it lies inside it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(REPO))
    except ValueError:
        return str(absolute)


def command_line() -> str:
    """The command that ran, as it can be pasted at the repository root.

    The interpreter and script are made repository-relative (``.venv/bin/python
    benchmarks/bench_hover.py --steps 3000``) so the line does not depend on the
    directory the run was started from; the other arguments are kept verbatim.
    """
    argv = [_repo_relative(sys.executable), _repo_relative(sys.argv[0]), *sys.argv[1:]]
    return shlex.join(argv)


def _git(*args: str, tree: Path = REPO) -> str | None:
    """Output of ``git args`` in ``tree`` (default this repository), or ``None`` without
    git or outside a checkout."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=tree, capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_commit(tree: Path = REPO) -> str:
    """Short HEAD commit of ``tree`` (default this repository), with ``+dirty`` when the
    tree differs from it.

    Changes under ``benchmarks/results/`` do not count: refreshing the results
    (``record_all.sh`` runs several scripts in turn) must not mark the later ones
    as measured on modified code.
    """
    head = _git("rev-parse", "--short", "HEAD", tree=tree)
    if head is None:
        return "unknown"
    changes = _git("status", "--porcelain", "--", ".", ":(exclude)benchmarks/results", tree=tree)
    return head + ("+dirty" if changes else "")


def _cpu_model() -> str:
    """The CPU's ``model name`` from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    """Total memory in GiB from /proc/meminfo, or ``None`` where there is none."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _os_name() -> str:
    """The distribution's name (``PRETTY_NAME`` of /etc/os-release), else the system's."""
    try:
        return platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError):
        return platform.system()


def machine() -> dict[str, Any]:
    """CPU model, cores (all, and those this process may use), memory, OS and kernel."""
    return {
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": _memory_gib(),
        "os": _os_name(),
        "kernel": f"{platform.system()} {platform.release()}",
    }


def versions() -> dict[str, str | None]:
    """Python and the versions of the packages the figures depend on (``None``: absent)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _load_1min() -> float:
    """The 1-minute load average, to show whether other work shared the machine."""
    return round(os.getloadavg()[0], 2)


def stamp(**settings: Any) -> dict[str, Any]:
    """The metadata of a run, taken when it starts; ``settings`` are the script's own.

    Call it first thing in ``main()``: the load average and date are those of
    the start (:func:`write_result` adds the end's). ``settings`` (e.g.
    ``physics_hz=240``) are kept at the end of the block.
    """
    return {
        "command": command_line(),
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        "load_avg_1min": {"start": _load_1min()},
        "versions": versions(),
        **settings,
    }


def write_result(path: str | Path, meta: dict[str, Any], **payload: Any) -> Path:
    """Write ``{"meta": meta + end load and elapsed seconds, **payload}`` to ``path``.

    The JSON goes to a temporary file next to ``path`` first and then replaces it
    (``os.replace``), so an interrupted run leaves the previous result intact.
    Prints and returns where it wrote.
    """
    started = datetime.fromisoformat(meta["date_utc"])
    meta = {
        **meta,
        "load_avg_1min": {**meta["load_avg_1min"], "end": _load_1min()},
        "elapsed_s": round((datetime.now(UTC) - started).total_seconds()),
    }
    text = json.dumps({"meta": meta, **payload}, indent=1) + "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would make the result private
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"wrote {_repo_relative(str(path))}")
    return path


def run_timed(
    command: list[str], cwd: str | Path, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``command`` in ``cwd`` (output captured; ``env``: its environment, default
    this process's) and return it with its wall clock and its CPU time, s: user + system
    of the process and of the descendants it waited for, which a shared machine's load
    disturbs far less than the wall clock. Processes a fork server starts (SB3's
    ``SubprocVecEnv`` workers here) are not among them: their CPU time is not counted."""
    import resource
    import time

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu, t = children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    return done, time.perf_counter() - t, children_cpu() - cpu
