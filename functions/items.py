"""Items API handlers (API Gateway REST proxy events):

- ``create_item``: POST /items -> 201 + Location (new) or 200 (replaced)
- ``get_item``: GET /items/{item_id} -> 200 with ``served_by``, or 404
- ``delete_item``: DELETE /items/{item_id} -> 204, or 404

Errors are JSON ``{"error": {"code", "message", "request_id"}}``; see ``_http.handle``.
Each Lambda entry point names its route (tested against modules/routes.py) and hands the
event to a plain function; no decorators, so a mutation tool sees every line.
"""

from __future__ import annotations

from urllib.parse import quote

from . import _aws, _store
from ._errors import NotFound
from ._http import ProxyEvent, ProxyResponse, handle, json_body, path_parameter, response
from .schema import PARTITION_KEY

PATH_PARAMETER = "item_id"  # /items/{item_id} in the API definition


def create_item(event: ProxyEvent, context: object = None) -> ProxyResponse:
    return handle("POST /items", create, event, context)


def get_item(event: ProxyEvent, context: object = None) -> ProxyResponse:
    return handle("GET /items/{item_id}", read, event, context)


def delete_item(event: ProxyEvent, context: object = None) -> ProxyResponse:
    return handle("DELETE /items/{item_id}", delete, event, context)


def create(event: ProxyEvent) -> ProxyResponse:
    document = json_body(event, max_bytes=_store.MAX_BODY_BYTES, max_values=_store.MAX_VALUES)
    prepared = _store.prepare_item(document, region=_aws.region())
    if _store.put_item(_aws.table(), prepared):
        return response(200, prepared.item)
    location = "/items/" + quote(prepared.item[PARTITION_KEY], safe="")
    return response(201, prepared.item, {"Location": location})


def read(event: ProxyEvent) -> ProxyResponse:
    item_id = _store.validate_item_id(path_parameter(event, PATH_PARAMETER))
    item = _store.get_item(_aws.table(), item_id)
    if item is None:
        raise NotFound("no item with this id")
    item[_store.SERVED_BY] = _aws.region()
    return response(200, item)


def delete(event: ProxyEvent) -> ProxyResponse:
    item_id = _store.validate_item_id(path_parameter(event, PATH_PARAMETER))
    if not _store.delete_item(_aws.table(), item_id):
        raise NotFound("no item with this id")
    return response(204)
