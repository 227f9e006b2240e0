"""Properties: any JSON object DynamoDB can hold round-trips exactly through create and get;
no body and no id, however odd, produces a 5xx."""

import json
import unicodedata
from decimal import Decimal
from urllib.parse import unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions import items
from functions.schema import PARTITION_KEY

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SERVER_FIELDS = ("origin_region", "updated_at", "served_by")

# --- JSON generated as (text, expected value), numbers as Decimal --------------------

integers = st.integers(-(10**38) + 1, 10**38 - 1).map(lambda i: (str(i), Decimal(i)))


@st.composite
def decimals(draw):
    """Any number DynamoDB holds: up to 38 significant digits, magnitude 1E-130..<1E+126."""
    coefficient = draw(st.integers(1, 10**38 - 1))
    digits = len(str(coefficient))
    exponent = draw(st.integers(-130 - (digits - 1), 125 - (digits - 1)))
    value = Decimal(f"{draw(st.sampled_from(['', '-']))}{coefficient}E{exponent}")
    text = draw(st.sampled_from([str(value), format(value, "f"), format(value, "e")]))
    return text, value


floats = (
    st.floats(allow_nan=False, allow_infinity=False)
    .filter(lambda f: f == 0 or 1e-130 <= abs(f) < 1e125)
    .map(lambda f: (repr(f), Decimal(repr(f))))
)
round_integers = st.tuples(st.integers(1, 10**10), st.integers(0, 60)).map(
    lambda t: (str(t[0]) + "0" * t[1], Decimal(t[0]) * 10 ** t[1])
)
strings = st.text().map(lambda s: (json.dumps(s, ensure_ascii=False), s))
leaves = st.one_of(
    st.just(("null", None)),
    st.booleans().map(lambda b: (json.dumps(b), b)),
    integers,
    decimals(),
    floats,
    round_integers,
    strings,
)
names = st.text(min_size=1)


def _containers(children):
    lists = st.lists(children, max_size=5).map(lambda xs: ("[" + ", ".join(t for t, _ in xs) + "]", [v for _, v in xs]))
    maps = st.dictionaries(names, children, max_size=5).map(
        lambda d: (
            "{" + ",".join(json.dumps(k) + ":" + t for k, (t, _) in d.items()) + "}",
            {k: v for k, (_, v) in d.items()},
        )
    )
    return lists | maps


values = st.recursive(leaves, _containers, max_leaves=25)
attribute_names = names.filter(lambda k: k not in SERVER_FIELDS and k != PARTITION_KEY)
documents = st.dictionaries(attribute_names, values, max_size=8).map(
    lambda d: (
        "{" + ", ".join(json.dumps(k) + ": " + t for k, (t, _) in d.items()) + "}",
        {k: v for k, (_, v) in d.items()},
    )
)


def canonical(value):
    """Type-tagged form, so True never equals 1 and numbers compare by value."""
    if value is None or isinstance(value, (bool, str)):
        return (type(value).__name__, value)
    if isinstance(value, Decimal):
        return ("number", value)
    if isinstance(value, list):
        return ("list", [canonical(v) for v in value])
    assert isinstance(value, dict), value
    return ("map", {k: canonical(v) for k, v in value.items()})


def parse(response):
    return json.loads(response["body"], parse_float=Decimal, parse_int=Decimal)


@SETTINGS
@given(document=documents)
def test_any_json_object_round_trips_exactly(table, event, document):
    text, expected = document

    created = items.create_item(event("post_item", body=text), None)
    assert created["statusCode"] == 201, created["body"]
    item_id = parse(created)[PARTITION_KEY]
    got = items.get_item(event("get_item", item_id=item_id), None)

    assert got["statusCode"] == 200
    for response in (created, got):
        body = parse(response)
        for name in (PARTITION_KEY, *SERVER_FIELDS):
            body.pop(name, None)
        assert canonical(body) == canonical(expected)


# --- nothing a client sends produces a 5xx -----------------------------------------

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=15,
)
surrogates = st.sampled_from(["\ud800", "\udfff", "\udc80x"])
odd_text = st.lists(st.text() | surrogates, max_size=4).map("".join)
bodies = st.one_of(
    st.text(),
    odd_text,
    json_like.map(json.dumps),  # includes NaN, Infinity, huge ints and floats
    st.dictionaries(st.text() | surrogates, json_like, max_size=4).map(json.dumps),
    st.binary(),  # sent base64-encoded
    st.binary().map(lambda b: b.decode("latin-1")),  # raw text that is not JSON
)


@SETTINGS
@given(body=bodies, flag_base64=st.booleans())
def test_arbitrary_bodies_never_produce_a_5xx(table, event, body, flag_base64):
    request = event("post_item", body=body)
    if flag_base64 and not request["isBase64Encoded"]:
        request["isBase64Encoded"] = True  # a text body claimed to be base64

    response = items.create_item(request, None)

    assert response["statusCode"] in (200, 201, 400, 413), response["body"]
    if response["statusCode"] >= 400:
        assert set(json.loads(response["body"])["error"]) == {"code", "message", "request_id"}


ids = st.one_of(
    st.text(),
    odd_text,
    st.text(
        st.characters(min_codepoint=0x800, max_codepoint=0xFFFF, exclude_categories=["Cs"]), min_size=330, max_size=350
    ),
    st.text(st.characters(max_codepoint=0xA0), max_size=5),  # dense in control characters
    # dense in what NFC changes (combining marks, precomposed letters) and in format characters
    st.text(st.sampled_from(["e", "\u0301", "\u00e9", "\u212b", "\u200b", "\u202e", "\ufeff", "x"]), max_size=6),
)


def valid_id(value):
    """The rules for ids: 1..1024 UTF-8 bytes, no control (Cc) or format (Cf) characters, NFC."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return (
        0 < size <= 1024
        and not any(unicodedata.category(c) in ("Cc", "Cf") for c in value)
        and unicodedata.normalize("NFC", value) == value
    )


@SETTINGS
@given(item_id=ids)
def test_arbitrary_ids_are_stored_or_refused_never_5xx(table, event, item_id):
    item_id = json.loads(json.dumps(item_id))  # JSON reads an escaped surrogate pair as one character
    created = items.create_item(event("post_item", body=json.dumps({PARTITION_KEY: item_id})), None)
    got = items.get_item(event("get_item", item_id=item_id), None)
    deleted = items.delete_item(event("delete_item", item_id=item_id), None)

    if valid_id(item_id):
        assert created["statusCode"] in (200, 201)
        if created["statusCode"] == 201:
            assert unquote(created["headers"]["Location"]) == "/items/" + item_id
        assert got["statusCode"] == 200 and parse(got)[PARTITION_KEY] == item_id
        assert deleted["statusCode"] == 204
    else:
        assert created["statusCode"] == got["statusCode"] == deleted["statusCode"] == 400
