"""Command lines from dataclasses, for the reproduction scripts.

A script declares its arguments once, as a dataclass with defaults (CleanRL's
style); :func:`parse_args` turns every field ``some_name`` into an option
``--some-name`` of the field's type and returns the filled dataclass.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TypeVar

T = TypeVar("T")


def parse_args(
    args_class: type[T],
    description: str | None,
    argv: Sequence[str] | None = None,
    check: Callable[[T], str | None] | None = None,
) -> T:
    """An ``args_class`` instance from the command line (``argv``, default ``sys.argv``).

    ``description`` (the script's docstring) is the ``--help`` text, verbatim.
    ``check`` returns an error message for arguments that parse but make no sense;
    the script then exits with argparse's usage and status 2.
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    for field, value in asdict(args_class()).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value)
    args = args_class(**vars(parser.parse_args(argv)))
    problem = check(args) if check is not None else None
    if problem:
        parser.error(problem)
    return args
