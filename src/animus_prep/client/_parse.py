"""Lenient parsing of JSON objects into frozen dataclasses.

The API adds fields and enum values without notice, so parsing never fails: a missing
or mistyped field becomes None (an empty tuple, or for the ids typed `str` an empty
string), and the whole object stays in ``raw``.

A few fields are what an answer is for (the id of what was created, the list that was
asked for, the status a waiter polls): a model names them in ``required_fields``, and
``missing_field`` finds one that an answer lacks, so the client can refuse that answer
instead of handing on a model of Nones.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from ._status import Status, normalize_status

__all__ = ["Model", "StatusModel", "missing_field"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Model:
    """Base of every API resource: known fields typed, everything received kept in ``raw``."""

    raw: Mapping[str, Any] = dataclasses.field(
        default_factory=dict, repr=False, compare=False, metadata={"local": True}
    )
    required_fields: ClassVar[tuple[str, ...]] = ()
    """Attributes an answer must carry (non-empty; a list for tuple fields)."""

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Build from a decoded JSON value; anything but an object gives an empty model."""
        mapping: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        values: dict[str, Any] = {}
        for name, key, hint in _fields(cls):
            if key in mapping:
                value = _coerce(hint, mapping[key])
                if value is not None or _optional(hint):
                    values[name] = value  # a field that cannot be None keeps its default
        return cls(raw=dict(mapping), **values)

    @property
    def extra(self) -> Mapping[str, Any]:
        """Fields the API sent that this model does not know (yet)."""
        known = {key for _, key, _ in _fields(type(self))}
        return {k: v for k, v in self.raw.items() if k not in known}


@dataclasses.dataclass(frozen=True, kw_only=True)
class StatusModel(Model):
    """A resource with a raw ``status`` string and normalised state properties."""

    status: str | None = None

    @property
    def state(self) -> Status:
        """The normalised status (UNKNOWN for values not in the contract's list)."""
        return normalize_status(self.status)

    @property
    def is_active(self) -> bool:
        """Queued or running."""
        return self.state is Status.ACTIVE

    @property
    def succeeded(self) -> bool:
        """Finished successfully."""
        return self.state is Status.SUCCEEDED

    @property
    def failed(self) -> bool:
        """Finished with an error."""
        return self.state is Status.FAILED

    @property
    def cancelled(self) -> bool:
        """Cancelled before finishing."""
        return self.state is Status.CANCELLED


def missing_field(model: Model, path: str = "") -> str | None:
    """The first required field that ``model``, or a model inside it, lacks: its JSON
    path (``job_id``, ``assets[2].asset_id``), or None when nothing is missing."""
    fields = _fields(type(model))
    keys = {name: key for name, key, _ in fields}
    for name in type(model).required_fields:
        value = getattr(model, name)
        if isinstance(value, tuple):
            present = isinstance(model.raw.get(keys[name]), list)
        else:
            present = value is not None and value != ""
        if not present:
            return path + keys[name]
    for name, key, _ in fields:
        value = getattr(model, name)
        inner: list[tuple[Model, str]] = []
        if isinstance(value, Model):
            inner.append((value, f"{path}{key}."))
        elif isinstance(value, tuple):
            models = [(i, v) for i, v in enumerate(value) if isinstance(v, Model)]
            inner += [(v, f"{path}{key}[{i}].") for i, v in models]
        for item, where in inner:
            missing = missing_field(item, where)
            if missing is not None:
                return missing
    return None


_FIELDS: dict[type[Model], tuple[tuple[str, str, Any], ...]] = {}


def _fields(cls: type[Model]) -> tuple[tuple[str, str, Any], ...]:
    """(attribute, JSON key, type hint) of each parsed field, computed once per class."""
    cached = _FIELDS.get(cls)
    if cached is None:
        hints = typing.get_type_hints(cls)
        cached = tuple(
            (f.name, f.metadata.get("key", f.name), hints[f.name])
            for f in dataclasses.fields(cls)
            if not f.metadata.get("local")
        )
        _FIELDS[cls] = cached
    return cached


def _optional(hint: Any) -> bool:
    """Whether a field's type admits None."""
    if hint is Any:
        return True
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return type(None) in typing.get_args(hint)
    return False


def _coerce(hint: Any, value: Any) -> Any:
    if hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _coerce(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        return _coerce_tuple(typing.get_args(hint)[0], value)
    if origin is not None and issubclass(origin, Mapping):
        return dict(value) if isinstance(value, Mapping) else None
    if isinstance(hint, type) and issubclass(hint, Model):
        return hint.from_dict(value) if isinstance(value, Mapping) else None
    return _SCALARS.get(hint, lambda v: v)(value)


def _coerce_tuple(item: Any, value: Any) -> tuple[Any, ...]:
    if item is str and isinstance(value, str):
        return tuple(value.splitlines())
    if not isinstance(value, list | tuple):
        return ()
    items = (_coerce(item, v) for v in value)
    return tuple(v for v in items if v is not None)


def _to_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


_SCALARS: Mapping[Any, Any] = {str: _to_str, int: _to_int, float: _to_float, bool: _to_bool}
