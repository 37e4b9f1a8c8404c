"""The catalogue's filter language: ``KEY OP VALUE`` conditions over an entry's facts.

``OP`` is ``=``, ``!=``, ``>=``, ``<=``, ``>`` or ``<``. Text facts compare case-insensitively with
shell-style wildcards (``training_data=LAION*``); numeric facts take numbers with an optional ``K``/``M``/``B``
suffix (``data_size>=1e9``, ``params<100M``); ``fine_tuned`` takes true/false; ``tag=NAME`` holds when the
entry carries that tag (``tag=testbed:*``). A value may list alternatives with ``|``
(``loss=contrastive|sigmoid``). A fact the catalogue does not know matches only ``KEY=unknown`` (and every
``!=``). Each field's kind is declared once in :data:`FIELDS`; a bad key or value form is one
:class:`~zeroshift.errors.UsageError` line with a suggestion.

Example:
    >>> c = parse_condition("data_size >= 1.4B")
    >>> c.key, c.op, c.values
    ('data_size', '>=', (1400000000.0,))
    >>> parse_condition("data_size>=lots")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    zeroshift.errors.UsageError: catalogue filter 'data_size>=lots': data_size takes a number such as 1e9 or 400M...

"""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from zeroshift.errors import UsageError
from zeroshift.registry import suggest

#: The kind of every filterable fact: ``text``, ``number``, ``bool`` or ``tags``.
FIELDS: dict[str, str] = {
    "spec": "text",
    "population": "text",
    "backend": "text",
    "architecture": "text",
    "family": "text",
    "params": "number",
    "training_data": "text",
    "data_size": "number",
    "samples_seen": "number",
    "loss": "text",
    "fine_tuned": "bool",
    "tag": "tags",
}

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_OPS = ("!=", ">=", "<=", "=", ">", "<")  # two-character operators first, so ">=" is never read as ">"
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_CONDITION = re.compile(r"^\s*([A-Za-z_]+)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*$")
UNKNOWN = "unknown"


def _number(text: str) -> float | None:
    text = text.strip().lower().replace("_", "")
    scale = 1.0
    if text and text[-1] in _SUFFIX:
        scale, text = _SUFFIX[text[-1]], text[:-1]
    try:
        return float(text) * scale
    except ValueError:
        return None


@dataclass(frozen=True)
class Condition:
    """One parsed ``KEY OP VALUE`` condition; :meth:`matches` tests an entry (any object with the fields).

    Example:
        >>> from types import SimpleNamespace
        >>> parse_condition("loss=sigmoid|contrastive").matches(SimpleNamespace(loss="Sigmoid"))
        True

    """

    key: str
    op: str
    values: tuple[Any, ...]
    text: str

    def matches(self, entry: Any) -> bool:
        """Whether ``entry`` meets the condition."""
        kind = FIELDS[self.key]
        fact = tuple(getattr(entry, "tags", ())) if kind == "tags" else getattr(entry, self.key, None)
        hit = any(self._one(kind, fact, v) for v in self.values)
        return not hit if self.op == "!=" else hit

    def _one(self, kind: str, fact: Any, value: Any) -> bool:
        if value is None:  # KEY=unknown
            return fact is None or fact == ()
        if fact is None:
            return False
        if kind == "tags":
            return any(fnmatch.fnmatchcase(t.lower(), value) for t in fact)
        if kind == "text":
            return fnmatch.fnmatchcase(str(fact).lower(), value)
        if self.op in _COMPARE:
            return _COMPARE[self.op](fact, value)
        return fact == value


def _value(key: str, op: str, raw: Any, text: str) -> Any:
    kind = FIELDS[key]
    if isinstance(raw, str) and raw.strip().lower() == UNKNOWN:
        if op not in ("=", "!="):
            raise UsageError(f"catalogue filter {text!r}: 'unknown' only goes with = or !=")
        return None
    if kind == "number":
        number = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else _number(str(raw))
        if number is None:
            raise UsageError(f"catalogue filter {text!r}: {key} takes a number such as 1e9 or 400M, got {raw!r}")
        return float(number)
    if op in _COMPARE:
        raise UsageError(f"catalogue filter {text!r}: {key} is not a number; use = or != (wildcards allowed)")
    if kind == "bool":
        parsed = raw if isinstance(raw, bool) else _BOOLS.get(str(raw).strip().lower())
        if parsed is None:
            raise UsageError(f"catalogue filter {text!r}: {key} takes true or false, got {raw!r}")
        return parsed
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise UsageError(f"catalogue filter {text!r}: {key} takes text, got {raw!r}")
    return str(raw).strip().lower()


def _check_key(key: str, text: str) -> None:
    if key not in FIELDS:
        raise UsageError(
            f"catalogue filter: unknown key {key!r}{suggest(key, list(FIELDS))}; known keys: {', '.join(FIELDS)}"
        )


def parse_condition(text: str) -> Condition:
    """Parse ``KEY OP VALUE`` (alternatives separated by ``|``); bad input is one :class:`UsageError` line.

    Example:
        >>> parse_condition("populaton=clip")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: catalogue filter: unknown key 'populaton'; did you mean 'population'?...

    """
    match = _CONDITION.match(text)
    if not match or not match.group(3):
        raise UsageError(
            f"catalogue filter {text!r}: expected KEY OP VALUE with OP one of {' '.join(_OPS)}, "
            "e.g. training_data=LAION-2B or data_size>=1e9"
        )
    key, op, raw = match.groups()
    _check_key(key, text)
    values = tuple(_value(key, op, part, text) for part in raw.split("|"))
    return Condition(key=key, op=op, values=values, text=text.strip())


def conditions_from_mapping(filters: Mapping[str, Any]) -> list[Condition]:
    """Conditions from a plan's mapping: ``{key: value}``, a value being a scalar, ``"OP value"`` or a list.

    Example:
        >>> [c.text for c in conditions_from_mapping({"data_size": ">=1e9", "loss": ["sigmoid", "contrastive"]})]
        ['data_size>=1e9', 'loss=sigmoid|contrastive']

    """
    if not isinstance(filters, Mapping):
        raise UsageError(f"catalogue filters: expected a mapping of key: value, got {filters!r}")
    out = []
    for key, raw in filters.items():
        _check_key(str(key), f"{key}: {raw!r}")
        items = list(raw) if isinstance(raw, list | tuple) else [raw]
        if not items:
            raise UsageError(f"catalogue filter {key}: an empty list selects nothing; give at least one value")
        op = "="
        parts = []
        for item in items:
            if isinstance(item, str):
                stripped = item.strip()
                for candidate in _OPS:
                    if stripped.startswith(candidate):
                        if len(items) > 1:
                            raise UsageError(
                                f"catalogue filter {key}: a comparison ({stripped!r}) cannot be one of a list"
                            )
                        op, stripped = candidate, stripped[len(candidate) :].strip()
                        break
                parts.append(stripped)
            elif isinstance(item, bool):
                parts.append("true" if item else "false")
            elif isinstance(item, int | float):
                parts.append(repr(item))
            else:
                raise UsageError(f"catalogue filter {key}: expected text, a number or a boolean, got {item!r}")
        out.append(parse_condition(f"{key}{op}{'|'.join(parts)}"))
    return out
