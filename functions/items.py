"""Items API handlers (API Gateway REST proxy events):

- ``create_item``: POST /items -> 201 + Location (new, or the same item again: a retry) or
  200 (replaced by a different item)
- ``get_item``: GET /items/{item_id} -> 200 with ``served_by``, or 404
- ``delete_item``: DELETE /items/{item_id} -> 204, whether or not the item was there

Errors are JSON ``{"error": {"code", "message", "request_id"}}``; see ``_http.handle``.
Each Lambda entry point names its route (tested against modules/routes.py) and hands the
event to a plain function; no decorators, so a mutation tool sees every line.
"""

from __future__ import annotations

from urllib.parse import quote

from . import _aws, _store
from ._errors import NotFound
from ._http import ProxyEvent, ProxyResponse, handle, json_body, path_parameter, response
from .schema import MAX_BODY_BYTES, PARTITION_KEY

PATH_PARAMETER = "item_id"  # /items/{item_id} in the API definition


def create_item(event: ProxyEvent, context: object = None) -> ProxyResponse:
    return handle("POST /items", create, event, context)


def get_item(event: ProxyEvent, context: object = None) -> ProxyResponse:
    return handle("GET /items/{item_id}", read, event, context)


def delete_item(event: ProxyEvent, context: object = None) -> ProxyResponse:
    return handle("DELETE /items/{item_id}", delete, event, context)


def create(event: ProxyEvent) -> ProxyResponse:
    document = json_body(event, max_bytes=MAX_BODY_BYTES, max_values=_store.MAX_VALUES)
    prepared = _store.prepare_item(document, region=_aws.region())
    written = _store.put_item(_aws.table(), prepared)
    if not written.created:
        return response(200, written.item)
    location = "/items/" + quote(written.item[PARTITION_KEY], safe="")
    return response(201, written.item, {"Location": location})


def read(event: ProxyEvent) -> ProxyResponse:
    item_id = _store.validate_item_id(path_parameter(event, PATH_PARAMETER))
    item = _store.get_item(_aws.table(), item_id)
    if item is None:
        raise NotFound("no item with this id")
    item[_store.SERVED_BY] = _aws.region()
    return response(200, item)


def delete(event: ProxyEvent) -> ProxyResponse:
    """204 whether or not the item existed. DELETE is idempotent (RFC 9110, 9.2.2): what a
    client wants is the item gone, and it is. A 404 for an absent item would make a retry
    (a client's, after a timeout or a failover to another region, of a delete that was
    applied) look like a failure, and a tombstone to tell the two apart would be a second
    write on every delete for a difference the client cannot act on."""
    item_id = _store.validate_item_id(path_parameter(event, PATH_PARAMETER))
    _store.delete_item(_aws.table(), item_id)
    return response(204)
