"""The web ACL evaluation of local/waf.py on rules shaped as GetWebACL returns them, with a
clock the test moves: windows, actions, statements combined, absent fields."""

from __future__ import annotations

from local.waf import WafRequest, WebAcl


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(path: str = "/v1/items", ip: str = "10.0.0.1", headers: tuple = (), body: bytes = b"") -> WafRequest:
    return WafRequest("GET", path, list(headers), body, ip)


def rule(name: str, priority: int, statement: dict, action: dict) -> dict:
    return {"Name": name, "Priority": priority, "Statement": statement, "Action": action}


def uri(position: str, search: bytes) -> dict:
    match = {"FieldToMatch": {"UriPath": {}}, "PositionalConstraint": position, "SearchString": search}
    return {"ByteMatchStatement": {**match, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}


def test_the_rate_rule_counts_per_address_within_its_window():
    clock = Clock()
    rate = {"RateBasedStatement": {"Limit": 2, "AggregateKeyType": "IP", "EvaluationWindowSec": 60}}
    acl = WebAcl({"DefaultAction": {"Allow": {}}, "Rules": [rule("rate", 0, rate, {"Block": {}})]}, clock=clock)
    assert [acl.evaluate(request()).blocked for _ in range(3)] == [False, False, True]
    assert not acl.evaluate(request(ip="10.0.0.2")).blocked
    clock.now += 61
    assert not acl.evaluate(request()).blocked


def test_allow_stops_evaluation_and_the_default_action_decides_the_rest():
    rules = [
        rule("allow-health", 0, uri("ENDS_WITH", b"/health"), {"Allow": {}}),
        rule(
            "block-v1",
            1,
            {
                "AndStatement": {
                    "Statements": [
                        uri("STARTS_WITH", b"/v1/"),
                        {"NotStatement": {"Statement": uri("CONTAINS", b"public")}},
                    ]
                }
            },
            {"Block": {}},
        ),
    ]
    acl = WebAcl({"DefaultAction": {"Block": {}}, "Rules": rules})
    assert not acl.evaluate(request("/v1/health")).blocked
    verdict = acl.evaluate(request("/v1/items"))
    assert (verdict.blocked, verdict.status, verdict.log["waf"]) == (True, 403, "blocked by block-v1")
    assert acl.evaluate(request("/v1/public")).log["waf"] == "blocked by the default action"


def test_a_header_that_is_absent_matches_no_statement_and_unknown_statements_never_block():
    header = {"FieldToMatch": {"SingleHeader": {"Name": "X-Api"}}, "RegexString": ".*", "TextTransformations": []}
    rules = [
        rule("needs-header", 0, {"RegexMatchStatement": header}, {"Block": {}}),
        rule("geo", 1, {"GeoMatchStatement": {"CountryCodes": ["XX"]}}, {"Block": {}}),
    ]
    acl = WebAcl({"DefaultAction": {"Allow": {}}, "Rules": rules})
    assert not acl.evaluate(request()).blocked
    assert acl.evaluate(request(headers=(("x-api", ""),))).blocked


def test_the_deployed_rate_rule_exempts_both_health_paths_and_nothing_else():
    """The rate rule's scope-down as GetWebACL returns it (modules/constructs/regional_waf.py):
    an OrStatement of not on a health path (/health or /v1/health, one regex) and not a checker.
    The IP set is not evaluated here, so a health request leaves the rule unevaluated (never
    limited), while any other path matches the first branch and is limited."""
    regex = {"FieldToMatch": {"UriPath": {}}, "RegexString": "^(/health|/v1/health)$"}
    health = {"RegexMatchStatement": {**regex, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
    checker = {"IPSetReferenceStatement": {"ARN": "arn:aws:wafv2:eu-west-1:1:regional/ipset/checkers/x"}}
    scope_down = {"OrStatement": {"Statements": [{"NotStatement": {"Statement": s}} for s in (health, checker)]}}
    rate = {"RateBasedStatement": {"Limit": 1, "AggregateKeyType": "IP", "ScopeDownStatement": scope_down}}
    acl = WebAcl({"DefaultAction": {"Allow": {}}, "Rules": [rule("rate", 0, rate, {"Block": {}})]}, clock=Clock())
    for path in ("/health", "/v1/health"):
        assert [acl.evaluate(request(path)).blocked for _ in range(3)] == [False, False, False], path
    for index, path in enumerate(("/v1/items", "/health/x", "/v2/health")):
        ip = f"10.0.1.{index}"
        assert [acl.evaluate(request(path, ip=ip)).blocked for _ in range(2)] == [False, True], path
