"""User-facing errors: the CLI prints str(error) on one line and exits non-zero.

Every message goes through the helpers here: `one_line` (one line, bounded),
`short` (a value echoed into a message, cut to about 200 characters),
`describe` (an exception as "Type: message", never empty: torch raises EOFError
with no message on an empty or truncated file) and `reason` (its message alone,
or describe() when it has none).
"""
from __future__ import annotations

import itertools
from typing import Any

VALUE_WIDTH = 200          # a value echoed into a message is cut to this many characters
LINE_WIDTH = 1000          # a whole error line is cut to this many characters

EMPTY_MESSAGES = {  # exception type name -> what it means when it carries no message
    "EOFError": "the file ends early (empty or truncated)",
    "UnpicklingError": "the file ends early or is not a pickle",
    "BadZipFile": "not a zip archive (empty or truncated)",
    "KeyError": "a key is missing",
    "StopIteration": "nothing to read",
}


class MsenasError(Exception):
    """Base of every error caused by bad input (files, config, data, cluster address)."""


def one_line(text: Any, width: int = LINE_WIDTH) -> str:
    """Text on one line (line breaks become '; ', runs of spaces one space), cut to `width` characters."""
    line = "; ".join(" ".join(part.split()) for part in str(text).splitlines() if part.strip()) or "unknown error"
    if len(line) <= width:
        return line
    return f"{line[:width - 40]}... ({len(line) - width + 40:,} more characters)"


def short(value: Any, width: int = VALUE_WIDTH) -> str:
    """repr(value) on one line, cut to `width` characters (a huge integer or list is described, not printed)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 40:
        return f"an integer of {abs(value).bit_length()} bits"
    try:
        if isinstance(value, (list, tuple, dict, set, frozenset, str)) and len(value) > width:
            head = value[:width] if isinstance(value, (list, tuple, str)) else \
                type(value)(itertools.islice(value.items() if isinstance(value, dict) else value, width))
            text = " ".join(repr(head).split())
            return f"{text[:width - 3]}... (a {type(value).__name__} of {len(value):,} {_unit(value)})"
        text = one_line(repr(value), 10 * width)
    except RecursionError:
        return f"a {type(value).__name__} nested too deeply to print"
    return text if len(text) <= width else text[:width - 3] + "..."


def _unit(value: Any) -> str:
    return "characters" if isinstance(value, str) else "items"


def describe(e: BaseException, width: int = VALUE_WIDTH) -> str:
    """'Type: message' of an exception on one line, cut to `width` characters; never empty."""
    name = type(e).__name__
    text = f"missing key {short(e.args[0])}" if type(e) is KeyError and e.args else " ".join(str(e).split())
    if text in ("", "''", '""'):
        text = EMPTY_MESSAGES.get(name, "no details given")
    line = f"{name}: {text}"
    return line if len(line) <= width else line[:width - 3] + "..."


def reason(e: BaseException, width: int = VALUE_WIDTH) -> str:
    """The message of an exception on one line, cut to `width`; describe(e) when it has none (or is a bare KeyError)."""
    text = " ".join(str(e).split())
    if not text or text in ("''", '""') or type(e) is KeyError:
        return describe(e, width)
    return text if len(text) <= width else text[:width - 3] + "..."
