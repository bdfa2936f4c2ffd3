"""Structured log lines, recorded in the firing's entry of the event log.

``print`` works too: the SDK sends ``sys.stdout`` to ``info`` lines and
``sys.stderr`` to ``warn`` lines (the component has no stdio of its own).
The host keeps a bounded number of lines per firing and counts the rest.
Outside a component (unit tests) the lines go to stderr.
"""

import sys

try:
    from wit_world.imports import log as _wit
except ImportError:  # not inside a component
    _wit = None

_LEVELS = ("trace", "debug", "info", "warn", "error")


def log(level: str, message: str) -> None:
    """Records one line at ``level`` (trace, debug, info, warn, error)."""
    if level not in _LEVELS:
        raise ValueError(f"unknown log level `{level}` (expected one of {', '.join(_LEVELS)})")
    if _wit is None:
        sys.__stderr__.write(f"[{level}] {message}\n")
        return
    _wit.log(_wit.Level[level.upper()], str(message))


def trace(message: str) -> None:
    """Records one line at ``trace``."""
    log("trace", message)


def debug(message: str) -> None:
    """Records one line at ``debug``."""
    log("debug", message)


def info(message: str) -> None:
    """Records one line at ``info``."""
    log("info", message)


def warn(message: str) -> None:
    """Records one line at ``warn``."""
    log("warn", message)


def error(message: str) -> None:
    """Records one line at ``error``."""
    log("error", message)


class _LineWriter:
    """A text stream that logs each complete line."""

    def __init__(self, level: str):
        self._level = level
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            log(self._level, line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            log(self._level, self._pending)
            self._pending = ""

    def isatty(self) -> bool:
        return False


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, _LineWriter):
            stream.flush()


def _capture_stdio() -> None:
    if _wit is not None:
        sys.stdout = _LineWriter("info")
        sys.stderr = _LineWriter("warn")


_capture_stdio()
