"""Parsing helpers shared by subcommands: ``key=value`` pairs and nested ``group.key=value`` parameters.

Example:
    >>> parse_pairs(["training_data=LAION-2B"], "--model-meta")
    {'training_data': 'LAION-2B'}
    >>> parse_group_params(["calibration.n_bins=20"])
    {'calibration': {'n_bins': 20}}

"""

from __future__ import annotations

import ast
from typing import Any

from zeroshift.errors import UsageError


def parse_pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    """``["k=v", ...]`` -> ``{"k": "v"}``; one clear error for anything else."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def literal(value: str) -> Any:
    """A Python literal if the text is one, else the text itself."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def parse_group_params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["group.key=value", ...]`` -> ``{"group": {"key": value}}`` with literal values."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in parse_pairs(items, "--metric-param").items():
        group, dot, name = key.partition(".")
        if not dot or not name:
            raise UsageError(f"--metric-param expects GROUP.KEY=VALUE, got {key}={value}")
        out.setdefault(group, {})[name] = literal(value)
    return out
