"""Command lines from dataclasses: the one way every quadgym script reads its arguments.

A script declares its arguments once, as a dataclass (CleanRL's style), best a
:class:`quadgym.config.TypedConfig` whose fields are :func:`quadgym.config.param`
with a doc and bounds. :func:`parse_args` turns every field ``some_name`` into
an option ``--some-name`` parsed by the field's annotation:

- ``bool``: ``--flag`` / ``--no-flag``;
- ``X | None``: ``none`` gives None;
- ``Literal[...]``: the choices are listed and checked;
- ``tuple[...]`` / ``list[...]``: ``0.1,0.2,0.7`` or ``[0.1, 0.2, 0.7]``;
- ``tuple[str, ...]``: several words, ``--config lr=0.1 beta=0.5``;
- ``dict``: a Python literal, ``{"a": 1}``.

A field without a default is a required option. The script's docstring is the
``--help`` text, verbatim, and must show a runnable example command.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar, get_args, get_origin

from quadgym.config import parse_text, split_optional, type_name

T = TypeVar("T")


def build_parser(args_class: type, description: str | None) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with one option per field of the dataclass ``args_class``."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    hints = typing.get_type_hints(args_class)
    for f in dataclasses.fields(args_class):
        if not f.metadata.get("cli", True):
            continue
        tp, option = hints[f.name], f"--{f.name.replace('_', '-')}"
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        doc = f.metadata.get("doc", "")
        shown = "required" if default is dataclasses.MISSING else f"default {default!r}"
        help_text = f"{doc} ({type_name(tp)}; {shown})" if doc else f"{type_name(tp)}; {shown}"
        kwargs: dict[str, Any] = {"help": help_text, "dest": f.name}
        if default is dataclasses.MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
        inner = split_optional(tp)[1]
        if inner is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif get_origin(inner) in (tuple, list) and get_args(inner)[:1] == (str,):
            kwargs["nargs"] = "*"  # words: --config lr=0.1 beta=0.5
            kwargs["metavar"] = "WORD"
        else:
            kwargs["type"] = _parser_for(tp, f.name)
            kwargs["metavar"] = _metavar(tp)
        parser.add_argument(option, **kwargs)
    return parser


def parse_args(
    args_class: type[T],
    description: str | None,
    argv: Sequence[str] | None = None,
    check: Callable[[T], str | None] | None = None,
) -> T:
    """An ``args_class`` instance from the command line (``argv``, default ``sys.argv``).

    ``check`` returns an error message for arguments that parse but make no sense;
    the script then exits with argparse's usage and status 2, as it does for a
    value the dataclass itself refuses (a ``TypedConfig``'s bounds).
    """
    parser = build_parser(args_class, description)
    namespace = vars(parser.parse_args(argv))
    try:
        args = args_class(**namespace)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    problem = check(args) if check is not None else None
    if problem:
        parser.error(problem)
    return args


def _parser_for(tp: Any, name: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return parse_text(tp, text, name)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = type_name(tp)  # argparse names the type in its errors
    return parse


def _metavar(tp: Any) -> str:
    inner = split_optional(tp)[1]
    if get_origin(inner) is Literal:
        return "{" + ",".join(str(a) for a in get_args(inner)) + "}"
    return type_name(inner).split("[")[0].upper()
