"""Structured logs Lambda can read: one JSON object per line on stdout.

With the function's log format set to JSON, Lambda reads ``level`` (TRACE, DEBUG, INFO,
WARN, ERROR or FATAL; anything else is filed as INFO) and ``timestamp`` (RFC 3339) from each
line, and drops lines below the function's application log level. That level reaches the
code as ``AWS_LAMBDA_LOG_LEVEL`` (set by Lambda from ``logging_config.application_log_level``);
the logger applies it too, so filtered lines are never even formatted. Unset or unknown:
INFO, Lambda's default.

Only named fields are logged (request id, route, status, duration, error code), never
events or bodies: they can carry secrets.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping

from .schema import LOG_LEVELS

LEVEL_VARIABLE = "AWS_LAMBDA_LOG_LEVEL"
FIELDS = ("request_id", "route", "status", "duration_ms", "error_code", "region", "reason")
# Python's level names -> the names Lambda reads.
LAMBDA_LEVEL_NAMES = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARN",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "FATAL",
}
# Lambda's level names -> Python's levels. Python has no TRACE: it lets everything through.
_PYTHON_LEVEL_ORDER = (logging.DEBUG, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
PYTHON_LEVELS = dict(zip(LOG_LEVELS, _PYTHON_LEVEL_ORDER, strict=True))


def timestamp(created: float) -> str:
    """RFC 3339 UTC with milliseconds (2026-11-27T09:00:00.123Z) for a ``time.time()`` value."""
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": timestamp(record.created),
            "level": LAMBDA_LEVEL_NAMES.get(record.levelno, record.levelname),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = record.__dict__
        for name in FIELDS:
            value = fields.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class StdoutHandler(logging.Handler):
    """Writes to the current ``sys.stdout`` (looked up per record, so redirection works)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def level_from(environ: Mapping[str, str]) -> int:
    """The Python level for ``AWS_LAMBDA_LOG_LEVEL`` in ``environ`` (INFO when unset or unknown)."""
    name = environ.get(LEVEL_VARIABLE, "").strip().upper()
    return PYTHON_LEVELS.get(name, logging.INFO)


def configure(logger: logging.Logger, environ: Mapping[str, str]) -> logging.Logger:
    """Give ``logger`` the JSON stdout handler (once) and the level ``environ`` asks for."""
    if not any(isinstance(handler, StdoutHandler) for handler in logger.handlers):
        handler = StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        # Lambda's runtime puts its own handler on the root logger: do not log twice.
        logger.propagate = False
    logger.setLevel(level_from(environ))
    return logger


def get_logger() -> logging.Logger:
    return configure(logging.getLogger("functions"), os.environ)
