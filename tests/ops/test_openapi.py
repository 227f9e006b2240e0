"""openapi.json is what `make openapi` writes, documents every route with its scope, and
names exactly the error codes the handlers can answer."""

from __future__ import annotations

import json
import re
from pathlib import Path

from openapi_spec_validator import validate

from modules.routes import ROUTES
from ops import openapi

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_the_committed_document_is_current():
    assert openapi.DOCUMENT.read_text() == openapi.rendered(), "openapi.json is stale: run `make openapi`"


def test_the_document_is_valid_openapi():
    validate(json.loads(openapi.rendered()))


def test_every_route_is_documented_with_its_scope_and_health_is_open():
    paths = openapi.document()["paths"]
    for route in ROUTES:
        operation = paths[route.path][route.method.lower()]
        assert operation["operationId"] == route.id
        assert operation["security"] == ([{"bearer": [route.scope]}] if route.scope else [])
        assert ("401" in operation["responses"]) == (route.scope is not None)
    assert sum(len(methods) for methods in paths.values()) == len(ROUTES)


def handler_error_codes() -> set[str]:
    """Every error code functions/ can put in a body: ``code="X"`` arguments and the
    ``code = "X"`` class defaults in functions/_errors.py."""
    found = set()
    for path in (PROJECT_DIR / "functions").glob("*.py"):
        found |= set(re.findall(r'\bcode\s*=\s*"([A-Za-z]+)"', path.read_text()))
    return found


def test_the_documented_error_codes_are_exactly_the_handlers():
    documented = {code for codes in openapi.ERROR_CODES.values() for code in codes}
    assert documented == handler_error_codes()
    schema = openapi.document()["components"]["schemas"]["Error"]
    assert set(schema["properties"]["error"]["properties"]["code"]["enum"]) == documented
