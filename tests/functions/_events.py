"""API Gateway events for the handler tests (imported as a plain module, like _assertions):
the fixture events in events/ (AWS's published REST proxy event filled in for our routes,
see events/aws/README.md) and the edits a test makes to one, done to both header maps as
API Gateway fills them."""

import copy
import json
from pathlib import Path

EVENTS = Path(__file__).parent / "events"
FIXTURE_EVENTS = ("post_item", "get_item", "delete_item", "health")
_CACHE = {name: json.loads((EVENTS / f"{name}.json").read_text()) for name in FIXTURE_EVENTS}


def load(name):
    """A fresh copy of fixture event ``name`` (tests may edit it)."""
    return copy.deepcopy(_CACHE[name])


def add_header(event, name, value):
    """Add one value of header ``name``, as API Gateway passes a header sent (again): the value
    appended to ``multiValueHeaders[name]`` and, being the last, in ``headers[name]``."""
    event["headers"] = event.get("headers") or {}
    event["multiValueHeaders"] = event.get("multiValueHeaders") or {}
    event["headers"][name] = value
    event["multiValueHeaders"].setdefault(name, []).append(value)
    return event


def set_header(event, name, *values):
    """Replace every value of header ``name`` (any case) by ``values`` (none: remove it)."""
    for field in ("headers", "multiValueHeaders"):
        present = event.get(field) or {}
        for key in [key for key in present if key.lower() == name.lower()]:
            del present[key]
    for value in values:
        add_header(event, name, value)
    return event
