r"""Escaping for everything that comes from records (a model name can contain anything).

Text and attributes of HTML and SVG go through :func:`text`; JSON inlined in a ``<script>`` element goes
through :func:`script_json`, which also hides ``</script>``, ``<!--`` and the JavaScript line separators; CSV
cells go through :func:`csv_cell`, which defuses spreadsheet formulas. Names of files and element ids are
never taken from records: :func:`slug` makes them from our own words plus a digest.

Example:
    >>> text('<b onclick="x">&</b>')
    '&lt;b onclick=&quot;x&quot;&gt;&amp;&lt;/b&gt;'
    >>> print(script_json({"m": "</script><!--"}))
    {"m": "\u003c/script\u003e\u003c!--"}
    >>> csv_cell("=HYPERLINK(1)"), csv_cell(-0.5)
    ("'=HYPERLINK(1)", -0.5)
    >>> slug("ECE by condition")
    'ece-by-condition'

"""

from __future__ import annotations

import hashlib
import html
import json
import re
from typing import Any

#: characters that make a spreadsheet treat a cell as a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def text(value: Any) -> str:
    """Escape a value for HTML/SVG text or a quoted attribute value (``& < > " '``)."""
    return html.escape(str(value), quote=True)


def script_json(value: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">`` (no ``</``, ``<!--`` or line separators)."""
    raw = json.dumps(value, default=str, allow_nan=False, ensure_ascii=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_UNSAFE[m.group(0)], raw)


def csv_cell(value: Any) -> Any:
    """A CSV cell: text that a spreadsheet would run as a formula gets a leading quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def slug(*words: Any) -> str:
    """A file- and id-safe name from our own words; anything unusual is replaced by a short digest."""
    joined = "-".join(str(w) for w in words)
    clean = re.sub(r"[^a-z0-9]+", "-", joined.lower()).strip("-")
    if clean and clean == re.sub(r"[ _]+", "-", joined.lower()) and len(clean) <= 60:
        return clean
    digest = hashlib.sha256(joined.encode()).hexdigest()[:8]
    return f"{clean[:40].strip('-')}-{digest}" if clean else digest
