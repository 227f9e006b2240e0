"""Log lines Lambda's JSON log format reads: its level names, an RFC 3339 ``timestamp``, and
the application log level Lambda passes in AWS_LAMBDA_LOG_LEVEL."""

import contextlib
import json
import logging
import re
import uuid
from decimal import Decimal

import pytest

from functions import _log, health, items

RFC3339_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def fresh_logger():
    """A logger no earlier test (or earlier pytest run in this process) has touched."""
    return logging.getLogger(f"functions.test-{uuid.uuid4()}")


def lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture
def lambda_log_level(monkeypatch):
    """``lambda_log_level("WARN")``: what Lambda sets for application_log_level = WARN."""
    logger = logging.getLogger("functions")

    def set_level(value):
        monkeypatch.setenv(_log.LEVEL_VARIABLE, value)
        _log.configure(logger, {_log.LEVEL_VARIABLE: value})

    yield set_level
    _log.configure(logger, {})


def test_a_request_line_has_the_keys_lambda_reads(table, event, capsys):
    items.get_item(event("get_item", item_id="missing"), None)

    (line,) = lines(capsys)
    assert line["level"] == "INFO"
    assert RFC3339_MILLIS.match(line["timestamp"]) and "time" not in line
    assert line["message"] == "request" and line["logger"] == "functions"
    assert line["route"] == "GET /items/{item_id}" and line["status"] == 404
    assert line["error_code"] == "NotFound" and line["request_id"] == "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"


def test_a_5xx_is_logged_as_warn(moto_aws, event, capsys):
    items.get_item(event("get_item"), None)  # no table: 503

    (line,) = lines(capsys)
    assert line["level"] == "WARN" and line["status"] == 503 and line["error_code"] == "StoreUnavailable"


@pytest.mark.parametrize(
    "level, name",
    [
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO"),
        (logging.WARNING, "WARN"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "FATAL"),
    ],
)
def test_python_levels_are_written_with_lambdas_names(level, name):
    record = logging.LogRecord("functions", level, __file__, 1, "m", None, None)
    record.created = 1795770000.1234

    entry = json.loads(_log.JsonFormatter().format(record))

    assert entry == {"timestamp": "2026-11-27T09:00:00.123Z", "level": name, "logger": "functions", "message": "m"}


def test_only_named_fields_are_logged():
    record = logging.LogRecord("functions", logging.INFO, __file__, 1, "m", None, None)
    record.route, record.status, record.body, record.reason = "GET /health", 200, "secret", None

    entry = json.loads(_log.JsonFormatter().format(record))

    assert entry["route"] == "GET /health" and entry["status"] == 200
    assert "body" not in entry and "reason" not in entry  # not a field / None


@pytest.mark.parametrize(
    "value, level",
    [
        ("TRACE", logging.DEBUG),
        ("DEBUG", logging.DEBUG),
        ("INFO", logging.INFO),
        ("WARN", logging.WARNING),
        ("ERROR", logging.ERROR),
        ("FATAL", logging.CRITICAL),
        (" warn ", logging.WARNING),
        ("WARNING", logging.INFO),
        ("verbose", logging.INFO),
        ("", logging.INFO),
    ],
)
def test_lambdas_level_names_map_to_python_levels(value, level):
    assert _log.level_from({"AWS_LAMBDA_LOG_LEVEL": value}) == level


def test_unset_level_means_info():
    assert _log.level_from({}) == logging.INFO
    assert _log.level_from({"LOG_LEVEL": "ERROR"}) == logging.INFO  # only Lambda's variable counts


def test_warn_level_drops_request_lines_but_keeps_warnings(healthy_table, monkeypatch, event, capsys, lambda_log_level):
    lambda_log_level("WARN")
    monkeypatch.setenv("STATUS", "bogus")

    items.get_item(event("get_item", item_id="missing"), None)  # 404: an INFO line
    health.check(event("health"), None)  # a WARN line for STATUS, then an INFO request line

    assert [(line["level"], line["message"][:6]) for line in lines(capsys)] == [("WARN", "STATUS")]


def test_error_level_drops_warnings_but_keeps_unexpected_errors(
    healthy_table, monkeypatch, event, capsys, lambda_log_level
):
    lambda_log_level("ERROR")
    monkeypatch.delenv("TABLE_NAME")

    items.get_item(event("get_item"), None)  # 500: ERROR
    items.get_item(event("get_item", item_id=""), None)  # 400: INFO

    (line,) = lines(capsys)
    assert line["level"] == "ERROR" and line["status"] == 500 and "exception" in line


def test_configure_adds_one_handler_and_does_not_propagate():
    logger = fresh_logger()
    try:
        _log.configure(logger, {"AWS_LAMBDA_LOG_LEVEL": "DEBUG"})
        _log.configure(logger, {"AWS_LAMBDA_LOG_LEVEL": "ERROR"})

        assert len(logger.handlers) == 1 and isinstance(logger.handlers[0], _log.StdoutHandler)
        assert logger.propagate is False and logger.level == logging.ERROR

        logger.addHandler(logging.NullHandler())  # someone else's handler: ours stays the only one
        _log.configure(logger, {})
        assert [type(h) for h in logger.handlers] == [_log.StdoutHandler, logging.NullHandler]
    finally:
        logger.handlers.clear()


def test_handler_writes_to_the_current_stdout(capsys):
    logger = _log.configure(fresh_logger(), {})
    try:
        logger.info("hello")
        assert json.loads(capsys.readouterr().out)["message"] == "hello"
    finally:
        logger.handlers.clear()


def test_a_failing_stdout_never_fails_the_request(capsys):
    class Broken:
        def write(self, text):
            raise OSError("stdout is gone")

    logger = _log.configure(fresh_logger(), {})
    try:
        with contextlib.redirect_stdout(Broken()):  # restored before capsys is torn down
            logger.info("hello")  # does not raise
    finally:
        logger.handlers.clear()
    assert "Message: 'hello'" in capsys.readouterr().err  # logging's own report of the failure


def test_get_logger_configures_the_functions_logger_from_the_environment(monkeypatch, lambda_log_level):
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "ERROR")

    logger = _log.get_logger()

    assert logger is logging.getLogger("functions") and logger.level == logging.ERROR
    assert [type(h) for h in logger.handlers].count(_log.StdoutHandler) == 1 and logger.propagate is False


def test_timestamps_are_truncated_to_milliseconds():
    assert _log.timestamp(1795770000.9995) == "2026-11-27T09:00:00.999Z"
    assert _log.timestamp(1795770000) == "2026-11-27T09:00:00.000Z"


def test_custom_levels_and_odd_values_still_make_a_line():
    record = logging.LogRecord("functions", 25, __file__, 1, "m", None, None)
    record.status = Decimal("201")

    entry = json.loads(_log.JsonFormatter().format(record))

    assert entry["level"] == "Level 25" and entry["status"] == "201"
