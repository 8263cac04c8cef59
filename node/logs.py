"""Log output of a node: the text or JSON line format, and rate-limited lines for bad requests.

``log_format = "json"`` in ``[node]`` writes one JSON object per line (time, level, node, logger,
message, and the exception text when there is one) for log collectors. ``RateLimitedLog`` keeps
a flood of bad requests from becoming a flood of log lines: at most ``burst`` lines per reason
in each window, then one "suppressed K" line when the window is over (or at ``flush``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["JsonFormatter", "RateLimitedLog", "configure_logging"]

_TEXT_FORMAT = "%(asctime)s {name} %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in messages are escaped)."""

    def __init__(self, node_name: str) -> None:
        super().__init__()
        self._node = node_name

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "node": self._node,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(node_name: str, level: str, log_format: str) -> None:
    """Set up the root logger of a node process (``log_format``: ``text`` or ``json``)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter(node_name))
    else:
        # The name is a format argument, never part of the format string: it may hold a "%".
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT.replace("{name}", "%(node)s")))
        handler.addFilter(_NodeName(node_name))
    logging.basicConfig(level=level, handlers=[handler])


class _NodeName(logging.Filter):
    def __init__(self, node_name: str) -> None:
        super().__init__()
        self._node = node_name

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self._node
        return True


@dataclass(slots=True)
class _Window:
    started_s: float
    logged: int = 0
    suppressed: int = 0


class RateLimitedLog:
    """Logs at most ``burst`` lines per reason per ``window_s``; counts and summarises the rest."""

    def __init__(
        self,
        logger: logging.Logger,
        burst: int = 5,
        window_s: float = 10.0,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._burst = burst
        self._window_s = window_s
        self._clock_s = clock_s
        self._windows: dict[str, _Window] = {}

    def emit(self, level: int, reason: str, message: str, *args: object) -> None:
        """Log ``message % args`` unless ``reason`` already had its lines in this window."""
        now = self._clock_s()
        window = self._windows.get(reason)
        if window is None or now - window.started_s >= self._window_s:
            if window is not None:
                self._summarise(reason, window)
            window = self._windows[reason] = _Window(now)
        if window.logged < self._burst:
            window.logged += 1
            self._log.log(level, message, *args)
        else:
            window.suppressed += 1

    def flush(self) -> None:
        """Write the "suppressed" line of every open window (at shutdown)."""
        for reason, window in self._windows.items():
            self._summarise(reason, window)
        self._windows.clear()

    def _summarise(self, reason: str, window: _Window) -> None:
        if window.suppressed:
            self._log.warning("suppressed %d more lines for %s in %.0f s", window.suppressed,
                              reason, self._window_s)  # fmt: skip
