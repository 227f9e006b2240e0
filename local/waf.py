"""AWS WAF for the local gateway: the REGIONAL web ACL associated with the stage
(wafv2 GetWebACLForResource on ``arn:aws:apigateway:<region>::/restapis/<id>/stages/<stage>``),
its own rules evaluated in priority order as the WAF Developer Guide describes them:

- ``RateBasedStatement`` aggregated by ``IP`` (the source address): counts the requests in the
  last ``EvaluationWindowSec`` (300 by default) that its ``ScopeDownStatement`` matches;
  matches once the count exceeds ``Limit``;
- ``SizeConstraintStatement``, ``ByteMatchStatement`` and ``RegexMatchStatement`` on
  ``UriPath``, ``QueryString``, ``SingleHeader``, ``Method`` or ``Body`` (the first
  ``BODY_INSPECTION_BYTES``), after the ``NONE``, ``LOWERCASE``, ``URL_DECODE`` and
  ``COMPRESS_WHITE_SPACE`` text transformations;
- ``AndStatement``, ``OrStatement``, ``NotStatement``;
- each rule's action: ``Block`` (API Gateway's 403 ``{"message": "Forbidden"}``, or the
  custom response's code with the custom response body it names, else none), ``Allow``
  (stops evaluation), ``Count`` (logged, goes on);
  the ACL's ``DefaultAction`` when no rule decides.

Not evaluated, and logged once as such: managed and customer rule groups (their rules are
not offline), IP sets, geo matches, labels, CAPTCHA and challenge, and any other statement.
A rule that cannot be evaluated never blocks.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO
from urllib.parse import unquote_plus, urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable

    from local.emulator import AwsClient

BODY_INSPECTION_BYTES = 16 * 1024  # API Gateway hands WAF the first 16 KB by default
DEFAULT_WINDOW_S = 300
POSITIONS = {
    "EXACTLY": lambda value, search: value == search,
    "STARTS_WITH": lambda value, search: value.startswith(search),
    "ENDS_WITH": lambda value, search: value.endswith(search),
    "CONTAINS": lambda value, search: search in value,
    "CONTAINS_WORD": lambda value, search: (
        re.search(rf"(?<![0-9A-Za-z_]){re.escape(search)}(?![0-9A-Za-z_])", value) is not None
    ),
}
COMPARISONS = {
    "EQ": lambda a, b: a == b,
    "NE": lambda a, b: a != b,
    "LE": lambda a, b: a <= b,
    "LT": lambda a, b: a < b,
    "GE": lambda a, b: a >= b,
    "GT": lambda a, b: a > b,
}
TRANSFORMATIONS = {
    "NONE": lambda text: text,
    "LOWERCASE": str.lower,
    "URL_DECODE": unquote_plus,
    "COMPRESS_WHITE_SPACE": lambda text: re.sub(r"[ \t\n\r\f\v]+", " ", text),
}


class NotEvaluated(Exception):
    """A statement the stand-in cannot evaluate: the rule it is in does not match."""


@dataclass(frozen=True)
class WafRequest:
    method: str
    target: str  # path and query as sent
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str


@dataclass
class Verdict:
    blocked: bool
    status: int = 403
    body: bytes = b'{"message": "Forbidden"}'
    content_type: str = "application/json"
    log: dict = field(default_factory=dict)


def field_value(field_to_match: dict, request: WafRequest) -> str | None:
    """The text a statement inspects; None when the field is absent (a header not sent)."""
    split = urlsplit(request.target)
    if "UriPath" in field_to_match:
        return split.path
    if "QueryString" in field_to_match:
        return split.query
    if "Method" in field_to_match:
        return request.method
    if "SingleHeader" in field_to_match:
        name = field_to_match["SingleHeader"]["Name"].lower()
        return next((value for key, value in reversed(request.headers) if key.lower() == name), None)
    if "Body" in field_to_match:
        return request.body[:BODY_INSPECTION_BYTES].decode("utf-8", errors="replace")
    raise NotEvaluated(f"field {sorted(field_to_match)} is not evaluated")


def transformed(statement: dict, request: WafRequest) -> str | None:
    value = field_value(statement["FieldToMatch"], request)
    if value is None:
        return None
    for transformation in sorted(statement.get("TextTransformations") or [], key=lambda t: t.get("Priority", 0)):
        kind = transformation["Type"]
        if kind not in TRANSFORMATIONS:
            raise NotEvaluated(f"text transformation {kind} is not evaluated")
        value = TRANSFORMATIONS[kind](value)
    return value


class WebAcl:
    """One deployed web ACL and the per-IP counters of its rate-based rules."""

    def __init__(self, acl: dict, log: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.acl, self.clock = acl, clock
        self.rules = sorted(acl.get("Rules") or [], key=lambda rule: rule.get("Priority", 0))
        self.bodies = acl.get("CustomResponseBodies") or {}
        self._seen: dict[tuple[str, str], deque] = {}
        self._lock = threading.Lock()
        self._reported: set[str] = set()
        self._log = log

    def evaluate(self, request: WafRequest) -> Verdict:
        counted = []
        for rule in self.rules:
            try:
                matched = self._matches(rule["Statement"], request, rule["Name"])
            except NotEvaluated as why:
                self._not_evaluated(rule["Name"], str(why))
                continue
            action = rule.get("Action") or {}
            if not matched:
                continue
            if "Count" in action:
                counted.append(rule["Name"])
            elif "Allow" in action:
                return Verdict(False, log={"waf": f"allowed by {rule['Name']}", "waf_counted": counted})
            elif "Block" in action:
                return self._block(rule["Name"], action["Block"], counted)
        if "Block" in (self.acl.get("DefaultAction") or {}):
            return self._block("the default action", self.acl["DefaultAction"]["Block"], counted)
        return Verdict(False, log={"waf_counted": counted} if counted else {})

    def _block(self, name: str, block: dict, counted: list[str]) -> Verdict:
        custom = block.get("CustomResponse") or {}
        verdict = Verdict(True, int(custom.get("ResponseCode") or 403), log={"waf": f"blocked by {name}"})
        if counted:
            verdict.log["waf_counted"] = counted
        body = self.bodies.get(custom.get("CustomResponseBodyKey") or "")
        if custom and not body:  # a custom response without a body has none
            verdict.body = b""
        if body:
            verdict.body = body["Content"].encode()
            verdict.content_type = {"TEXT_PLAIN": "text/plain", "TEXT_HTML": "text/html"}.get(
                body.get("ContentType", ""), "application/json"
            )
        return verdict

    def _matches(self, statement: dict, request: WafRequest, rule: str) -> bool:
        if "AndStatement" in statement:
            return all(self._matches(inner, request, rule) for inner in statement["AndStatement"]["Statements"])
        if "OrStatement" in statement:
            return any(self._matches(inner, request, rule) for inner in statement["OrStatement"]["Statements"])
        if "NotStatement" in statement:
            return not self._matches(statement["NotStatement"]["Statement"], request, rule)
        if "RateBasedStatement" in statement:
            return self._over_rate(statement["RateBasedStatement"], request, rule)
        return match_one(statement, request)

    def _over_rate(self, rate: dict, request: WafRequest, rule: str) -> bool:
        if rate.get("AggregateKeyType", "IP") != "IP":
            raise NotEvaluated(f"rate aggregation {rate.get('AggregateKeyType')} is not evaluated")
        scope = rate.get("ScopeDownStatement")
        if scope is not None and not self._matches(scope, request, rule):
            return False
        window = float(rate.get("EvaluationWindowSec") or DEFAULT_WINDOW_S)
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault((rule, request.source_ip), deque())
            while seen and seen[0] <= now - window:
                seen.popleft()
            seen.append(now)
            return len(seen) > int(rate["Limit"])

    def _not_evaluated(self, rule: str, why: str) -> None:
        if rule in self._reported or self._log is None:
            return
        self._reported.add(rule)
        self._log.write(json.dumps({"waf": "rule not evaluated", "rule": rule, "why": why}) + "\n")
        self._log.flush()


def match_one(statement: dict, request: WafRequest) -> bool:
    """A size, byte or regex match statement (None field: no match)."""
    if "ManagedRuleGroupStatement" in statement or "RuleGroupReferenceStatement" in statement:
        raise NotEvaluated("rule groups cannot be evaluated offline")
    if "SizeConstraintStatement" in statement:
        inner = statement["SizeConstraintStatement"]
        value = transformed(inner, request)
        size = len(value.encode()) if value is not None else 0
        return value is not None and COMPARISONS[inner["ComparisonOperator"]](size, int(inner["Size"]))
    if "ByteMatchStatement" in statement:
        inner = statement["ByteMatchStatement"]
        value = transformed(inner, request)
        search = inner["SearchString"]
        search = search.decode() if isinstance(search, bytes) else search
        return value is not None and POSITIONS[inner["PositionalConstraint"]](value, search)
    if "RegexMatchStatement" in statement:
        inner = statement["RegexMatchStatement"]
        value = transformed(inner, request)
        return value is not None and re.search(inner["RegexString"], value) is not None
    raise NotEvaluated(f"statement {sorted(statement)} is not evaluated")


def stage_arn(region: str, rest_api_id: str, stage: str) -> str:
    return f"arn:aws:apigateway:{region}::/restapis/{rest_api_id}/stages/{stage}"


class WafReader:
    """The web ACL associated with the stage now (re-read at most every ``refresh_s``);
    None when there is none."""

    def __init__(self, wafv2: AwsClient, resource_arn: str, log: TextIO | None = None, refresh_s: float = 1.0) -> None:
        self.client, self.resource_arn, self.log, self.refresh_s = wafv2, resource_arn, log, refresh_s
        self._cached: tuple[float, str | None, WebAcl | None] = (float("-inf"), None, None)
        self._lock = threading.Lock()

    def current(self) -> WebAcl | None:
        with self._lock:
            read_at, lock_token, acl = self._cached
            if time.monotonic() - read_at < self.refresh_s:
                return acl
            found = self.client.get_web_acl_for_resource(ResourceArn=self.resource_arn).get("WebACL")
            token = json.dumps(found, sort_keys=True, default=str) if found else None
            if token != lock_token:  # a changed ACL starts with fresh counters
                acl = WebAcl(found, self.log) if found else None
            self._cached = (time.monotonic(), token, acl)
            return acl
