"""The ``quadgym`` console command: ``quadgym train|evaluate|benchmark|fly|tune|reproduce ...``.

Each command is one of the scripts of ``scripts/`` run as ``__main__``, with the rest of
the command line as its own typed arguments (``quadgym train --help`` is
``python scripts/train.py --help``), so a script is written once and both ways of
running it stay the same program. The scripts ship with the package: a checkout runs
its own ``scripts/``; an installed wheel carries them as data files under
``<prefix>/share/quadgym/scripts`` (setup.cfg's ``data_files``).

Torch's intra-op thread pool fights the simulator for the cores: on a 2-core machine
SB3's PPO ran 4,096 steps in 116 s with torch's default threads and in 1.4 s with one.
So a command starts with ``OMP_NUM_THREADS=1`` unless the environment sets it (torch
reads it when it is first imported; the processes a command starts inherit it).
"""

from __future__ import annotations

import ast
import os
import sys
import sysconfig
import types
from collections.abc import Sequence
from pathlib import Path

#: command -> the script it runs (``reproduce`` takes the paper as its first word).
COMMANDS: dict[str, str] = {
    "train": "train",
    "evaluate": "evaluate",
    "benchmark": "benchmark",
    "fly": "fly_pid",
    "tune": "tune",
    "export": "export",
    "train-marl": "train_marl",
    "replay-marl": "replay_marl",
    "train-rllib": "train_rllib",
    "fly-downwash": "fly_downwash",
    "convert-checkpoint": "convert_checkpoint",
}
#: ``quadgym reproduce PAPER``: the papers' reproduction scripts.
PAPERS: dict[str, str] = {
    "copg": "reproduce_copg",
    "dpo3d": "reproduce_dpo3d",
    "hard": "reproduce_hard",
    "ftp": "reproduce_ftp",
}


def scripts_dir() -> Path:
    """Where the scripts are: the checkout's ``scripts/`` beside the package, else the
    copies an installed wheel put under ``share/quadgym/scripts``.

    Raises:
        FileNotFoundError: neither holds ``train.py`` (naming both places).
    """
    places = [Path(__file__).resolve().parents[1] / "scripts"]
    for scheme in (None, f"{os.name}_user"):
        try:
            data = sysconfig.get_path("data", scheme) if scheme else sysconfig.get_path("data")
        except KeyError:  # a platform without a user scheme
            continue
        places.append(Path(data) / "share" / "quadgym" / "scripts")
    for place in places:
        if (place / "train.py").is_file():
            return place
    raise FileNotFoundError(f"quadgym's scripts are in none of {', '.join(map(str, places))}")


def summary(script: Path) -> str:
    """The first line of a script's docstring, read without running it."""
    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def usage() -> str:
    """``quadgym --help``: every command with what its script says it does."""
    where = scripts_dir()
    width = max(map(len, [*COMMANDS, *(f"reproduce {p}" for p in PAPERS)]))
    lines = [
        "usage: quadgym COMMAND [ARGS ...]   (quadgym COMMAND --help: the command's arguments)",
        "       quadgym --version",
        "",
        "commands:",
    ]
    rows = [*COMMANDS.items(), *((f"reproduce {p}", s) for p, s in PAPERS.items())]
    for name, script in rows:
        lines.append(f"  {name:<{width}}  {summary(where / f'{script}.py')}")
    return "\n".join(lines)


def resolve(argv: Sequence[str]) -> tuple[str, list[str]] | str:
    """(script name, its arguments) for a command line, or the usage error to print."""
    if not argv:
        return "quadgym: a command is required"
    command, rest = argv[0], list(argv[1:])
    if command == "reproduce":
        paper = rest[0] if rest else None
        if paper not in PAPERS:
            return f"quadgym reproduce: name a paper, one of {', '.join(PAPERS)}; got {paper!r}"
        return PAPERS[paper], rest[1:]
    if command not in COMMANDS:
        import difflib

        near = difflib.get_close_matches(command, [*COMMANDS, "reproduce"], n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return f"quadgym: unknown command {command!r}{hint} (quadgym --help lists them)"
    return COMMANDS[command], rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``quadgym ARGV`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["--version"], ["-V"]):
        from quadgym import __version__

        print(f"quadgym {__version__}")
        return 0
    if argv[:1] in (["--help"], ["-h"]):
        print(usage())
        return 0
    found = resolve(argv)
    if isinstance(found, str):
        print(found, file=sys.stderr)
        return 2
    script, rest = found
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    command = " ".join(argv[: 2 if argv[0] == "reproduce" else 1])
    return run_script(scripts_dir() / f"{script}.py", [f"quadgym {command}", *rest])


def run_script(path: Path, argv: list[str]) -> int:
    """Run the script at ``path`` as ``__main__`` with ``sys.argv = argv`` (so its usage
    says ``argv[0]``: runpy would put the file's path there); its exit status."""
    module = types.ModuleType("__main__")
    module.__file__ = str(path)  # multiprocessing's spawn re-imports the main module from it
    saved = sys.argv, sys.modules["__main__"]
    sys.argv, sys.modules["__main__"] = argv, module
    try:
        exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    except SystemExit as exc:  # the scripts end with sys.exit(main())
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv, sys.modules["__main__"] = saved
    return 0
