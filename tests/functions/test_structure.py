"""What the Lambda package must keep true of itself: each handler's route label is the route
modules/routes.py sends to it, functions/ never imports modules/ (only functions/*.py is
zipped), and no function is longer than 60 lines."""

import ast
import importlib
import json
from pathlib import Path

import pytest

from modules.routes import ROUTES

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
FIXTURES = Path(__file__).resolve().parent / "events"
MAX_FUNCTION_LINES = 60


def fixture_for(route):
    """The fixture event API Gateway sends for this route (resource and method match)."""
    for path in sorted(FIXTURES.glob("*.json")):
        event = json.loads(path.read_text())
        if (event["httpMethod"], event["resource"]) == (route.method, route.path):
            return event
    raise AssertionError(f"no fixture event for {route.method} {route.path}")


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
def test_each_handler_labels_its_requests_with_the_route_it_serves(moto_aws, capsys, route):
    module, name = route.handler.rsplit(".", 1)
    handler = getattr(importlib.import_module(module), name)

    handler(fixture_for(route), None)

    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines() if '"request"' in text]
    assert line["route"] == f"{route.method} {route.path}"


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
def test_each_handler_passes_lambdas_context_on(moto_aws, capsys, route):
    module, name = route.handler.rsplit(".", 1)
    handler = getattr(importlib.import_module(module), name)
    event = fixture_for(route)
    del event["requestContext"]  # then the request id comes from Lambda's context

    class Context:
        aws_request_id = "lambda-request-7"

    handler(event, Context())

    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines() if '"request"' in text]
    assert line["request_id"] == "lambda-request-7"


def _modules():
    return sorted(FUNCTIONS.glob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_functions_never_import_modules(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & {"modules", "local", "ops", "scan", "tests", "main", "benchmarks"}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_no_function_is_longer_than_60_lines(path):
    too_long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not too_long
