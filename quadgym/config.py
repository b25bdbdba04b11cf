"""Typed configuration: dataclasses whose fields check themselves.

A plugin's configuration, a script's arguments and an env's arguments are each
a frozen dataclass of :class:`TypedConfig` whose fields are declared with
:func:`param` (default, one-line doc with units, optional bounds). Building one
checks every value against the field's type annotation and bounds, so a typo,
a wrong type or a value out of range fails at once, naming the field:

    >>> @dataclasses.dataclass(frozen=True)
    ... class Adam(TypedConfig):
    ...     lr: float = param(1e-3, "step size", gt=0)
    >>> Adam.from_mapping({"lr": 0.1}).lr
    0.1
    >>> Adam.from_mapping({"lrr": 0.1})
    Traceback (most recent call last):
    ValueError: unknown key 'lrr'; did you mean 'lr'? Allowed: lr

The same annotations parse command-line text (:func:`parse_text`): ``true``/
``false`` for ``bool``, ``none`` for an optional field, ``0.1,0.2`` or
``[0.1, 0.2]`` for tuples and lists, Python literals for dicts.

Supported annotations: ``bool``, ``int``, ``float``, ``str``, ``Literal[...]``,
``X | None``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``list[X]``, ``dict`` /
``dict[str, Any]`` and ``Any``.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import numpy as np

C = TypeVar("C", bound="TypedConfig")
_NUMBERS = (int, float, np.integer, np.floating)

_BOUNDS = {"gt": (float.__gt__, ">"), "ge": (float.__ge__, ">="), "lt": (float.__lt__, "<")}
_BOUNDS["le"] = (float.__le__, "<=")


def param(
    default: Any,
    doc: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    choices: Iterable[Any] | None = None,
    check: Callable[[str, Any], Any] | None = None,
    cli: bool = True,
) -> Any:
    """A dataclass field with a one-line ``doc`` (say the units) and optional rules.

    ``gt``/``ge``/``lt``/``le`` bound a number; ``choices`` lists the allowed values
    (for sets computed at import, where a ``Literal`` cannot be written);
    ``check(name, value)`` returns the value in normal form or raises, for rules no
    annotation expresses (shapes of points, say). Mutable defaults (dicts, lists)
    are copied for each instance. ``cli=False`` marks a field that cannot be
    written on a command line or saved as JSON (e.g. an in-memory dataset).
    """
    bounds = {k: v for k, v in (("gt", gt), ("ge", ge), ("lt", lt), ("le", le)) if v is not None}
    metadata = {"doc": doc, "bounds": bounds, "cli": cli, "check": check}
    if choices is not None:
        metadata["choices"] = tuple(choices)
    if isinstance(default, dict | list | set):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def split_optional(tp: Any) -> tuple[bool, Any]:
    """(whether ``tp`` admits None, ``tp`` without None)."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) < len(get_args(tp)):
            return True, args[0] if len(args) == 1 else Union[tuple(args)]  # noqa: UP007
    return False, tp


def type_name(tp: Any) -> str:
    """A readable name of an annotation: ``float | None``, ``'on' | 'off'``."""
    optional, inner = split_optional(tp)
    if optional:
        return f"{type_name(inner)} | None"
    if get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if get_origin(tp) is not None:
        return repr(tp).replace("typing.", "")
    return getattr(tp, "__name__", repr(tp))


def coerce(tp: Any, value: Any, name: str) -> Any:
    """``value`` as an instance of annotation ``tp``.

    Ints are accepted for floats, integral floats (``1e4``) for ints, any
    sequence for tuples and lists. Floats must be finite.

    Raises:
        TypeError: ``value`` is not of the type, naming ``name``.
        ValueError: a float that is NaN or infinite, or a value outside a ``Literal``.
    """
    optional, inner = split_optional(tp)
    if value is None:
        if optional or tp is Any:
            return None
        raise TypeError(f"{name} must be {type_name(tp)}, got None")
    tp = inner
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if origin is Literal:
        if value not in args or isinstance(value, bool) != isinstance(args[0], bool):
            raise ValueError(f"{name} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin in (Union, types.UnionType):
        for arg in args:
            try:
                return coerce(arg, value, name)
            except (TypeError, ValueError):
                continue
        raise TypeError(f"{name} must be {type_name(tp)}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int | np.integer) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool
        ):
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin in (tuple, list) or tp in (tuple, list):
        if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
            items = list(value)
            if origin is tuple and args and args[-1] is not Ellipsis:
                if len(items) != len(args):
                    raise TypeError(f"{name} must have {len(args)} items, got {len(items)}")
                kinds = args
            else:
                kinds = (args[0] if args else Any,) * len(items)
            pairs = enumerate(zip(kinds, items, strict=True))
            out = [coerce(k, v, f"{name}[{i}]") for i, (k, v) in pairs]
            return tuple(out) if (origin or tp) is tuple else out
    elif origin is dict or tp is dict:
        if isinstance(value, Mapping):
            return dict(value)
    else:
        raise TypeError(f"{name}: unsupported annotation {tp!r}")
    raise TypeError(f"{name} must be {type_name(tp)}, got {type(value).__name__} {value!r}")


def parse_text(tp: Any, text: str, name: str) -> Any:
    """The value of annotation ``tp`` written as ``text`` on a command line.

    ``none``/``None``/``null`` give None (for optional fields), ``true``/``false``
    (also ``yes``/``no``, ``1``/``0``) a bool, ``a,b,c`` a tuple or list; other
    text is read as a Python literal and, failing that, kept as a string.
    """
    optional, inner = split_optional(tp)
    stripped = text.strip()
    if optional and stripped.lower() in ("none", "null"):
        return None
    if inner is bool:
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if stripped.lower() not in words:
            raise ValueError(f"{name} must be true or false, got {text!r}")
        return words[stripped.lower()]
    if inner is str:
        return text
    if get_origin(inner) is Literal and all(isinstance(a, str) for a in get_args(inner)):
        return coerce(inner, text, name)
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError):
        value = text
    if inner is float and isinstance(value, str):
        try:  # nan, inf: numbers that the float check then refuses by name
            value = float(stripped)
        except ValueError:
            pass
    sequence = get_origin(inner) in (tuple, list) or inner in (tuple, list)
    if sequence and isinstance(value, str | int | float) and not isinstance(value, bool):
        parts = [p for p in stripped.strip("()[]").split(",") if p.strip()]
        value = [_literal(p) for p in parts]
    return coerce(tp, value, name)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text.strip()


def closest(key: str, allowed: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the allowed name closest to ``key``, or ``""``."""
    match = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints(cls)``, worked out once per class: it compiles every
    string annotation on each call, and configs are built at every env construction and
    wherever one is rebuilt from a mapping."""
    return typing.get_type_hints(cls)


@dataclasses.dataclass(frozen=True)
class TypedConfig:
    """Base of quadgym's typed configurations (see the module docstring).

    Subclasses are frozen dataclasses of :func:`param` fields; ``check`` adds rules
    that involve several fields. Errors name the field; whoever builds the config
    (a plugin, a script) adds what it configures.
    """

    def __post_init__(self) -> None:
        hints = _type_hints(type(self))
        for f in dataclasses.fields(self):
            label = f.name
            value = coerce(hints[f.name], getattr(self, f.name), label)
            for bound, limit in f.metadata.get("bounds", {}).items():
                compare, symbol = _BOUNDS[bound]
                if value is not None and not compare(float(value), float(limit)):
                    raise ValueError(f"{label} must be {symbol} {limit}, got {value!r}")
            choices = f.metadata.get("choices")
            if choices is not None and value is not None and value not in choices:
                allowed = ", ".join(map(repr, choices))
                raise ValueError(f"{label} must be one of {allowed}, got {value!r}")
            if f.metadata.get("check") is not None:
                value = f.metadata["check"](label, value)
            object.__setattr__(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Rules across fields; raise ValueError naming them. None by default."""

    @classmethod
    def from_mapping(cls: type[C], mapping: Mapping[str, Any]) -> C:
        """An instance from ``mapping``; unknown keys are refused with the allowed ones.

        Raises:
            ValueError: an unknown key (with the closest allowed one), or a value out of range.
            TypeError: a value of the wrong type.
        """
        allowed = [f.name for f in dataclasses.fields(cls)]
        for key in mapping:
            if key not in allowed:
                raise ValueError(_unknown(key, allowed))
        return cls(**mapping)

    @classmethod
    def from_strings(cls: type[C], items: Iterable[str]) -> C:
        """An instance from ``key=value`` texts (a command line's ``--config``)."""
        return cls.from_mapping(cls.parse_strings(items))

    @classmethod
    def parse_strings(cls, items: Iterable[str]) -> dict[str, Any]:
        """``key=value`` texts as a dict of typed values (unknown keys and a key given
        twice refused)."""
        hints = typing.get_type_hints(cls)
        allowed = [f.name for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]
        out: dict[str, Any] = {}
        for item in items:
            key, sep, text = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ValueError(f"config items are key=value, got {item!r}")
            if key not in allowed:
                raise ValueError(_unknown(key, allowed))
            if key in out:  # the later one would win silently
                raise ValueError(f"{key!r} is given twice ({item!r} after {key}={out[key]!r})")
            out[key] = parse_text(hints[key], text, key)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The fields that can be saved (``cli`` ones), as JSON-ready values."""
        return {
            f.name: _jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata.get("cli", True)
        }

    def replace(self: C, **changes: Any) -> C:
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def describe(cls) -> list[tuple[str, str, str, str]]:
        """(name, type, default, doc) of every field, for help texts and docs."""
        hints = typing.get_type_hints(cls)
        rows = []
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = repr(f.default)
            elif f.default_factory is not dataclasses.MISSING:
                default = repr(f.default_factory())
            else:
                default = "required"
            rows.append((f.name, type_name(hints[f.name]), default, f.metadata.get("doc", "")))
        return rows


def _unknown(key: str, allowed: list[str]) -> str:
    return f"unknown key {key!r}{closest(key, allowed)} Allowed: {', '.join(allowed)}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
