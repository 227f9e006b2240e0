"""Structured logs: one JSON object per line on stdout (CloudWatch keeps one event per line).

Only named fields are logged (request id, route, status, duration, error code), never
events or bodies: they can carry secrets.
"""

import json
import logging
import os
import sys
import time

FIELDS = ("request_id", "route", "status", "duration_ms", "error_code", "region", "reason")


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + ".%03dZ" % record.msecs,
            "level": record.levelname,
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

    def emit(self, record):
        try:
            stream = sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def get_logger():
    logger = logging.getLogger("functions")
    if not logger.handlers:
        handler = StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        # Lambda's runtime puts its own (plain text) handler on the root logger.
        logger.propagate = False
        level = os.environ.get("LOG_LEVEL", "INFO").upper()
        logger.setLevel(level if isinstance(logging.getLevelName(level), int) else logging.INFO)
    return logger
