"""What mutation testing found unpinned in the config loader (issue 13 item 5): what a valid
file parses into, inclusive boundaries, whole error messages (they are the loader's user
interface), the schema's building blocks called at run time (the declarations run them at
import, where no mutant is active), the rules across files, and `python -m modules.config.docs`."""

from __future__ import annotations

import copy
import datetime
import types
from pathlib import Path

import pytest

from modules.config import docs, schema, sections
from modules.config.loader import load_environment, load_environments, parse_environment
from modules.config.schema import (
    ConfigError,
    Reader,
    between,
    closest,
    declarations,
    keys_of,
    marked_span,
    matches,
    one_of,
)
from tests.config.test_production_rules import BASE, toml, with_, write


def parse(raw, environment="test"):
    return parse_environment(raw, environment=environment, source="test.toml")


def rejection(raw) -> str:
    with pytest.raises(ConfigError) as err:
        parse(raw)
    return str(err.value)


# --- what a valid file parses into ---------------------------------------------------------


def test_a_full_file_parses_into_exactly_what_it_says():
    raw = copy.deepcopy(BASE)
    raw.update(
        {
            "regions": ["eu-west-1", "us-west-2", "ap-northeast-1"],
            "primary_region": "us-west-2",
            "allowed_account_ids": ["123456789012", "210987654321"],
            "domain": {"zone_name": "example.com", "record_name": "api.eu.example.com"},
            "routing": {"mode": "weighted", "weights": {"eu-west-1": 1, "us-west-2": 255, "ap-northeast-1": 7}},
            "lambda": {"memory": 128, "timeout": 29, "log_retention_days": 1},
            "api": {"throttle_rate_limit": 10000, "throttle_burst_limit": 5000},
            "tags": {"team": "platform", "cost-center": "backend"},
        }
    )
    parsed = parse(raw)
    assert parsed.regions == ("us-west-2", "eu-west-1", "ap-northeast-1")
    assert parsed.allowed_account_ids == ("123456789012", "210987654321")
    assert parsed.domain == sections.DomainConfig(zone_name="example.com", record_name="api.eu.example.com")
    assert parsed.routing == sections.RoutingConfig(
        mode="weighted", weights={"eu-west-1": 1, "us-west-2": 255, "ap-northeast-1": 7}
    )
    assert (parsed.lambda_.memory, parsed.lambda_.timeout, parsed.lambda_.log_retention_days) == (128, 29, 1)
    assert parsed.api.throttle_rate_limit == 10000.0 and type(parsed.api.throttle_rate_limit) is float
    assert parsed.api.throttle_burst_limit == 5000
    assert parsed.tags == {"team": "platform", "cost-center": "backend"}


def test_s3_state_parses_into_its_keys_and_defaults():
    state = parse(with_("state", {"backend": "s3", "bucket": "my-state", "region": "eu-west-1"})).state
    assert state == sections.StateConfig(
        backend="s3", bucket="my-state", region="eu-west-1", key="backend/test/terraform.tfstate", use_lockfile=True
    )
    assert state.path == "" and state.organization == "" and state.workspace == ""


def test_cloud_state_parses_into_its_keys_and_defaults():
    state = parse(with_("state", {"backend": "cloud", "organization": "acme"})).state
    assert state == sections.StateConfig(
        backend="cloud", organization="acme", workspace="backend-test", hostname="app.terraform.io"
    )
    assert state.bucket == "" and state.path == ""


def test_no_state_table_is_local_state():
    assert parse(BASE).state == sections.StateConfig(backend="local", path="state/backend-test.tfstate")


@pytest.mark.parametrize(
    "path, low, high",
    [
        ("lambda.memory", 128, 10240),
        ("lambda.timeout", 1, 29),
        ("lambda.reserved_concurrency", 1, 10000),
        ("lambda.account_concurrency", 128, 100000),
        ("api.throttle_rate_limit", 1, 10000),
        ("api.throttle_burst_limit", 1, 5000),
        ("health_check.failure_threshold", 1, 10),
    ],
)
def test_inclusive_boundaries(path, low, high):
    """(With a quota that fits 3 x 10,000 reservations, so only the key's own range counts.)"""
    section, key = path.split(".")
    base = BASE if key == "account_concurrency" else with_("lambda.account_concurrency", 100000)
    for value in (low, high):
        parsed = parse(with_(path, value, base))
        assert getattr(getattr(parsed, "lambda_" if section == "lambda" else section), key) == value
    for value in (low - 1, high + 1):
        assert f"{path}: {value} " in rejection(with_(path, value, base))


@pytest.mark.parametrize("weight, accepted", [(0, False), (1, True), (255, True), (256, False)])
def test_weight_boundaries(weight, accepted):
    raw = with_("routing", {"mode": "weighted", "weights": {"eu-west-1": weight, "eu-central-1": 1}})
    if accepted:
        assert parse(raw).routing.weights == {"eu-west-1": weight, "eu-central-1": 1}
    else:
        assert rejection(raw) == (
            f"test.toml: routing.weights.eu-west-1: {weight} is not a positive weight "
            "(expected an integer from 1 to 255)"
        )


def test_domain_names_up_to_253_characters():
    zone = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 59])
    record = "x." + zone
    assert len(record) == 253
    assert parse(with_("domain", {"zone_name": zone, "record_name": record})).domain.record_name == record
    longer = "xy." + zone
    message = rejection(with_("domain", {"zone_name": zone, "record_name": longer}))
    assert f'domain.record_name: "{longer}" is not a valid domain name' in message


# --- whole messages --------------------------------------------------------------------------

MESSAGES = [
    (with_("regions", [5, "eu-west-1"]), ['regions[0]: 5 is not a string (expected a region name like "eu-west-1")']),
    (
        with_("regions", ["eu-west-9", "eu-west-1"]),
        ['regions: "eu-west-9" is not an AWS region (expected e.g. eu-west-3)'],
    ),
    (with_("regions", ["xx", "eu-west-1"]), ['regions: "xx" is not an AWS region (expected e.g. eu-west-1)']),
    (
        with_("primary_region", "us-east-1", with_("regions", ["xx", "yy"])),
        [
            'regions: "xx" is not an AWS region (expected e.g. eu-west-1)',
            'regions: "yy" is not an AWS region (expected e.g. eu-west-1)',
            'primary_region: "us-east-1" is not one of regions (expected one of: the listed regions)',
        ],
    ),
    (
        with_("routing.mode", "failover", with_("regions", ["eu-west-1", "eu-central-1", "us-east-1"])),
        [
            'routing.mode: "failover" needs exactly two regions (got 3: eu-west-1, eu-central-1, us-east-1); '
            "expected latency or weighted routing for more"
        ],
    ),
    (
        with_("routing", {"mode": "latency", "weights": {"eu-west-1": 1}}),
        ["routing.weights: {'eu-west-1': 1} is only used with mode = \"weighted\" (mode is 'latency')"],
    ),
    (
        with_("routing", {"mode": "weighted", "weights": {"eu-west-1": "5", "eu-central-1": True}}),
        [
            'routing.weights.eu-west-1: "5" is not a positive weight (expected an integer from 1 to 255)',
            "routing.weights.eu-central-1: true is not a positive weight (expected an integer from 1 to 255)",
        ],
    ),
    (
        with_("routing", {"mode": "weighted", "weights": {"eu-west-1": 1, "eu-central-1": 1, "us-east-1": 3}}),
        ['routing.weights.us-east-1: "us-east-1" is not one of regions (expected one of: eu-west-1, eu-central-1)'],
    ),
    (
        with_("lambda.mem", 1),
        [
            'lambda.mem: "mem" is not a known key (expected one of: account_concurrency, architecture, log_level, '
            "log_retention_days, memory, reserved_concurrency, runtime, timeout)"
        ],
    ),
    (
        with_("lambda.memory", datetime.date(1979, 5, 27)),
        ["lambda.memory: datetime.date(1979, 5, 27) is a date (expected an integer)"],
    ),
    (with_("lambda.memory", [1]), ["lambda.memory: [1] is a list (expected an integer)"]),
    (with_("lambda.memory", {"a": 1}), ["lambda.memory: {'a': 1} is a table (expected an integer)"]),
    (with_("lambda.memory", 1.5), ["lambda.memory: 1.5 is a number (expected an integer)"]),
    (with_("lambda.runtime", 3), ["lambda.runtime: 3 is an integer (expected a string)"]),
    (
        with_("api.throttle_rate_limit", "x"),
        ['api.throttle_rate_limit: "x" is a string (expected an integer or number)'],
    ),
    (with_("tags", "x"), ['tags: "x" is a string (expected a table)']),
    (with_("state", ["backend"]), ["state: ['backend'] is not a table (expected [section] with keys)"]),
    (
        with_("allowed_account_ids", []),
        [
            "allowed_account_ids: [] names no account (expected the environment's AWS account, "
            'e.g. ["123456789012"]; only emulator environments may leave it out)'
        ],
    ),
    (
        with_("lambda.reserved_concurrency", 300),
        [
            "lambda.reserved_concurrency: 300 reserves 928 per region (the item functions' reservations and 28 for "
            "health), which leaves 72 of lambda.account_concurrency = 1000 unreserved (expected at least 100 "
            "unreserved, which Lambda requires: reserve less, or raise the account's quota and "
            "lambda.account_concurrency)"
        ],
    ),
    (
        with_("routing.mode", "geo"),
        ['routing.mode: "geo" is not allowed (expected one of: latency, failover, weighted, traffic-policy)'],
    ),
    (with_("lambda.memory", 64), ["lambda.memory: 64 is out of range (expected 128 to 10240)"]),
    (
        with_("api.stage", "v 1"),
        ["api.stage: \"v 1\" is not a valid stage name (expected 1-64 letters, digits or '_')"],
    ),
]


@pytest.mark.parametrize(
    "raw, lines", MESSAGES, ids=[lines[0].split(":")[0] + f"-{i}" for i, (_, lines) in enumerate(MESSAGES)]
)
def test_whole_messages(raw, lines):
    assert rejection(raw).splitlines() == [f"test.toml: {line}" for line in lines]


def test_messages_name_the_config_when_no_source_is_given():
    with pytest.raises(ConfigError) as err:
        parse_environment(with_("regoins", 1), environment="test")
    assert str(err.value) == (
        "<config>: regoins: \"regoins\" is not a known key (did you mean 'regions'?) (expected one of: alarms, "
        "allowed_account_ids, api, auth, chaos, domain, emulator, health_check, lambda, primary_region, project, "
        "protected, regions, routing, state, table, tags, waf)"
    )


def test_a_hint_needs_a_close_match():
    """``mem`` is 67% like ``memory``: below the 75% that earns a hint."""
    assert closest("memroy", ["memory", "timeout"]) == "memory"
    assert closest("mem", ["memory", "timeout"]) is None
    assert closest("x", []) is None


# --- the schema's building blocks --------------------------------------------------------------


def test_between_is_inclusive_and_says_so():
    rule = between(128, 10240)
    assert [rule.test(value) for value in (127, 128, 10240, 10241)] == [False, True, True, False]
    assert rule.problem == "is out of range (expected 128 to 10240)" and rule.doc == "128..10240"


def test_one_of_lists_the_choices():
    rule = one_of(10, 30)
    assert rule.test(10) and rule.test(30) and not rule.test(20)
    assert rule.problem == "is not allowed (expected one of: 10, 30)" and rule.doc == "`10`, `30`"
    assert one_of("a", doc="letters").doc == "letters"


def test_empty_or_accepts_the_empty_string_or_a_match():
    rule = sections._empty_or(r"^a+$", "as (expected a run of a)", "as")
    assert [rule.test(value) for value in ("", "aaa", "b", "ab")] == [True, True, False, False]
    assert rule.problem == "is not as (expected a run of a)" and rule.doc == "as"


def test_matches_anchors_where_its_pattern_does():
    rule = matches(r"^[a-z]+$", "is not lowercase", "lowercase")
    assert rule.test("abc") and not rule.test("aBc") and not rule.test("")
    assert (rule.problem, rule.doc) == ("is not lowercase", "lowercase")


def test_declarations_and_keys_in_file_order():
    fields = declarations(sections.EnvironmentConfig)
    assert [name for name, _ in fields] == [
        "project",
        "regions",
        "emulator",
        "protected",
        "domain",
        "routing",
        "health_check",
        "lambda_",
        "api",
        "auth",
        "waf",
        "table",
        "alarms",
        "chaos",
        "state",
        "tags",
        "allowed_account_ids",
    ]
    assert fields == sections.FIELDS
    domain = keys_of(sections.DomainConfig, sections.SECTIONS["domain"])
    assert [(key.path, key.section) for key in domain] == [
        ("domain.zone_name", sections.SECTIONS["domain"]),
        ("domain.record_name", sections.SECTIONS["domain"]),
    ]
    assert [key.path for key in keys_of(sections.DomainConfig)] == ["zone_name", "record_name"]


def test_every_key_puts_primary_region_after_regions():
    keys = sections._every_key()
    assert keys == sections.KEYS
    paths = [key.path for key in keys]
    assert paths[:4] == ["project", "regions", "primary_region", "emulator"]
    assert paths[-1] == "allowed_account_ids" and len(paths) == len(set(paths))


def test_shown_values():
    from modules.config.schema import _show, _with_article

    assert _show(types.MappingProxyType({"a": 1})) == "{'a': 1}"
    assert (_show("x"), _show(True), _show(False), _show(None), _show(1.5)) == (
        '"x"',
        "true",
        "false",
        "(not set)",
        "1.5",
    )
    assert (_with_article("integer"), _with_article("list")) == ("an integer", "a list")


@pytest.mark.parametrize(
    "text",
    [
        "a\nEND\nb\n",  # no begin
        "BEGIN\na\n",  # no end
        "x\nEND\nBEGIN\n",  # end before begin
    ],
)
def test_marked_span_needs_both_markers_in_order(text):
    with pytest.raises(ValueError, match="markers 'BEGIN' ... 'END' not found, or not in that order"):
        marked_span(text, "BEGIN", "END")


def test_marked_span_is_the_lines_between_the_first_markers():
    text = "x\nBEGIN\nold\nEND\nBEGIN\nother\nEND\n"
    start, stop = marked_span(text, "BEGIN", "END")
    assert text[start:stop] == "old\n"


def test_a_key_read_from_no_table_gets_its_default_and_a_required_one_is_reported():
    reader = Reader("file.toml", "dev")
    (zone,) = [key for key in sections.SECTIONS["domain"].keys() if key.name == "zone_name"]  # noqa: SIM118 (a Section)
    assert reader.read({}, zone) is None
    assert reader.errors == ["file.toml: domain.zone_name: (not set) is missing (expected a string)"]


# --- files ---------------------------------------------------------------------------------------


def test_a_file_that_cannot_be_read_is_named(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_environment(tmp_path / "missing.toml")
    assert str(err.value) == f"{tmp_path / 'missing.toml'}: cannot be read: No such file or directory"


def test_errors_of_several_files_are_one_line_each_and_name_their_files(tmp_path):
    write(tmp_path, {"a": with_("lambda.memory", 1), "b": with_("lambda.timeout", 99)})
    with pytest.raises(ConfigError) as err:
        load_environments(tmp_path)
    assert str(err.value).splitlines() == [
        f"{tmp_path / 'a.toml'}: lambda.memory: 1 is out of range (expected 128 to 10240)",
        f"{tmp_path / 'b.toml'}: lambda.timeout: 99 is out of range (expected 1 to 29)",
    ]


def test_an_unknown_environment_names_the_folder_and_the_choices(tmp_path):
    write(tmp_path, {"dev": BASE, "prod": with_("domain.record_name", "api.prod.example.com")})
    with pytest.raises(ConfigError) as err:
        load_environments(tmp_path, ["qa", "uat"])
    assert str(err.value) == f"environment 'qa', 'uat' not found in {tmp_path}/ (expected one of: dev, prod)"
    with pytest.raises(ConfigError) as err:
        load_environments(tmp_path / "empty", ["qa"])
    assert str(err.value) == f"environment 'qa' not found in {tmp_path / 'empty'}/ (expected one of: none)"


# --- rules across files: every pair, every file --------------------------------------------------


def own(name: str, account: str, **more) -> dict:
    raw = with_("allowed_account_ids", [account], with_("domain.record_name", f"api.{name}.example.com"))
    raw["domain"]["zone_name"] = f"{name}.example.com"
    for path, value in more.items():
        raw = with_(path.replace("__", "."), value, raw)
    return raw


def test_a_conflict_between_files_not_chosen_is_not_reported(tmp_path):
    write(
        tmp_path,
        {
            "a": own("a", "111111111111"),
            "b": own("b", "222222222222"),
            "c": with_(
                "domain", {"zone_name": "b.example.com", "record_name": "api.c.b.example.com"}, own("c", "333333333333")
            ),
        },
    )
    assert [c.environment for c in load_environments(tmp_path, ["a"])] == ["a"]
    assert "is also the zone of" in str(pytest.raises(ConfigError, load_environments, tmp_path, ["c"]).value)


def test_every_file_not_chosen_takes_part_even_after_a_broken_one(tmp_path):
    write(
        tmp_path,
        {
            "a": with_("lambda.memory", 1, own("a", "111111111111")),
            "b": own("b", "222222222222"),
            "c": own("c", "222222222222", api__manage_account_settings=False),
            "d": own("d", "222222222222", api__manage_account_settings=False),
            "z": own("z", "222222222222"),
        },
    )
    message = str(pytest.raises(ConfigError, load_environments, tmp_path, ["z"]).value)
    assert message == (
        f"{tmp_path / 'z.toml'}: api.manage_account_settings: true is also set by {tmp_path / 'b.toml'} for account "
        "222222222222 in eu-west-1, eu-central-1; API Gateway keeps one CloudWatch role per account and region, so "
        "each would overwrite the other's and destroying one would break the other's logs (expected true in exactly "
        "one environment per account and region, false in the others)"
    )


def test_an_environment_without_a_domain_takes_no_part_in_the_zone_rule(tmp_path):
    write(
        tmp_path,
        {
            "a": with_("domain", ..., own("a", "111111111111")),
            "b": own("b", "222222222222"),
            "c": with_(
                "domain", {"zone_name": "b.example.com", "record_name": "api.c.b.example.com"}, own("c", "333333333333")
            ),
        },
    )
    message = str(pytest.raises(ConfigError, load_environments, tmp_path).value)
    assert message == (
        f'{tmp_path / "c.toml"}: domain.zone_name: "b.example.com" is also the zone of {tmp_path / "b.toml"}, in '
        "another account (333333333333 vs 222222222222); a public hosted zone belongs to one account (expected a "
        'zone of this environment\'s own, e.g. "c.b.example.com" delegated from "b.example.com")'
    )


def test_two_owners_and_a_missing_owner_are_both_reported(tmp_path):
    write(
        tmp_path,
        {
            "a": own("a", "111111111111"),
            "b": own("b", "111111111111"),
            "c": own("c", "222222222222", api__manage_account_settings=False),
        },
    )
    lines = str(pytest.raises(ConfigError, load_environments, tmp_path).value).splitlines()
    assert [line.split(": ")[0:2] for line in lines] == [
        [str(tmp_path / "b.toml"), "api.manage_account_settings"],
        [str(tmp_path / "c.toml"), "api.manage_account_settings"],
    ]
    assert lines[1] == (
        f"{tmp_path / 'c.toml'}: api.manage_account_settings: false, but no environment manages them in account "
        "222222222222 in eu-west-1, eu-central-1 (expected one environment of that account with true in each of "
        "these regions: API Gateway refuses execution logging without the account's CloudWatch role)"
    )


def test_shared_reservations_may_leave_exactly_the_minimum(tmp_path):
    """440 x 3 + 28 = 1348 and 28: 1376 of 1476 leaves exactly 100. The first account and
    region (a's alone) has nothing to add up; the next ones do."""
    write(
        tmp_path,
        {
            "a": own(
                "a",
                "111111111111",
                lambda__account_concurrency=1476,
                lambda__reserved_concurrency=440,
                regions=["ap-south-1", "us-east-1", "eu-west-1"],
            ),
            "b": own(
                "b",
                "111111111111",
                lambda__account_concurrency=1476,
                api__manage_account_settings=False,
                regions=["eu-west-1", "us-east-1"],
            ),
        },
    )
    assert len(load_environments(tmp_path)) == 2
    (tmp_path / "b.toml").write_text(
        toml(
            own(
                "b",
                "111111111111",
                lambda__account_concurrency=1475,
                api__manage_account_settings=False,
                regions=["eu-west-1", "us-east-1"],
            )
        )
    )
    message = str(pytest.raises(ConfigError, load_environments, tmp_path).value)
    assert message.splitlines()[0] == (
        f"{tmp_path / 'b.toml'}: lambda.reserved_concurrency: None shares account 111111111111 in us-east-1 with "
        f"{tmp_path / 'a.toml'}: they reserve 1376 together, leaving 99 of lambda.account_concurrency = 1475 "
        "(expected at least 100 unreserved: reserve less, or raise the quota and lambda.account_concurrency)"
    )


# --- the README's tables and `python -m modules.config.docs` --------------------------------------------


def test_summary_rows_for_an_emulator_and_an_environment_without_a_domain():
    emulated = parse_environment(
        {
            "project": "items",
            "regions": ["eu-west-1", "eu-central-1"],
            "emulator": True,
            "auth": {"audience": "items-local"},
        },
        environment="sim",
    )
    rows = docs.environments_table([emulated, parse(with_("domain", ...))]).splitlines()[2:]
    assert rows[0].startswith("| `sim` | (emulator) | (no domain) | eu-west-1, eu-central-1 |")
    assert rows[1].startswith("| `test` | 123456789012 | (no domain) |")


def test_readme_with_table_rewrites_both_tables(environment_configs):
    readme = (
        f"a\n{docs.README_BEGIN}\nold keys\n{docs.README_END}\nb\n"
        f"{docs.SUMMARY_BEGIN}\nold summary\n{docs.SUMMARY_END}\nc\n"
    )
    configs = list(environment_configs.values())
    assert docs.readme_with_table(readme, configs) == (
        f"a\n{docs.README_BEGIN}\n{schema.markdown_table(sections.KEYS)}{docs.README_END}\nb\n"
        f"{docs.SUMMARY_BEGIN}\n{docs.environments_table(configs)}{docs.SUMMARY_END}\nc\n"
    )
    assert docs.readme_with_table(readme) == (
        f"a\n{docs.README_BEGIN}\n{schema.markdown_table(sections.KEYS)}{docs.README_END}\nb\n"
        f"{docs.SUMMARY_BEGIN}\nold summary\n{docs.SUMMARY_END}\nc\n"
    )


def test_update_readme_reads_the_shipped_environments_by_default(tmp_path, environment_configs):
    readme = tmp_path / "README.md"
    readme.write_text(f"{docs.README_BEGIN}\n{docs.README_END}\n{docs.SUMMARY_BEGIN}\n{docs.SUMMARY_END}\n")
    assert docs.main(["--update-readme", str(readme)]) == 0
    assert docs.environments_table(environment_configs.values()) in readme.read_text(encoding="utf-8")
    other = write(tmp_path / "envs", {"qa": BASE})
    assert docs.main(["--update-readme", str(readme), "--environments", str(other)]) == 0
    assert "| `qa` | 123456789012 |" in readme.read_text(encoding="utf-8")


def test_the_command_needs_an_action_and_documents_its_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        docs.main([])
    assert exit_.value.code == 2
    assert "one of the arguments --markdown --update-readme is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        docs.main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for fragment in (
        "usage: python -m modules.config.docs",
        "The environment-file keys.",
        "--markdown print the README's environment table",
        "--update-readme README regenerate the tables in README",
        "--environments DIR the environment files the README's summary describes (default: environments/)",
    ):
        assert fragment in help_text


def test_the_shipped_readme_is_left_alone_when_current(tmp_path):
    readme = Path(__file__).resolve().parents[2] / "README.md"
    copy_ = tmp_path / "README.md"
    copy_.write_bytes(readme.read_bytes())
    before = copy_.stat().st_mtime_ns
    assert docs.main(["--update-readme", str(copy_)]) == 0
    assert copy_.stat().st_mtime_ns == before and copy_.read_bytes() == readme.read_bytes()


# --- what the second mutation run still found -----------------------------------------------


def test_setting_and_section_make_the_fields_they_declare():
    import dataclasses

    from modules.config.schema import SECTION, SETTING, PerEnvironment, Setting, section, setting

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Inner:
        value: int = setting("a value", default=3)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Declared:
        needed: str = setting("needed", required=True)
        other_backend: str = setting("only with s3", default=PerEnvironment("x-{environment}"), unset="", backend="s3")
        table: dict = setting("a table", default={"a": 1})
        plain: int = setting("plain", default=5, rule=between(1, 9))
        inner: Inner = section("inner", Inner)
        maybe: Inner | None = section("maybe", Inner, optional=True)

    made = Declared(needed="n")
    assert (made.other_backend, made.table, made.plain, made.inner, made.maybe) == ("", {"a": 1}, 5, Inner(), None)
    assert made.table is not Declared(needed="n").table  # a fresh dict for every instance
    with pytest.raises(TypeError):
        Declared()  # required: no default
    by_name = {item.name: item for item in dataclasses.fields(Declared)}
    assert by_name["needed"].metadata[SETTING] == Setting(description="needed", required=True)
    assert by_name["plain"].metadata[SETTING] == Setting(
        description="plain", default=5, rule=by_name["plain"].metadata[SETTING].rule
    )
    assert by_name["other_backend"].metadata[SETTING].backend == "s3"
    assert by_name["table"].metadata[SETTING] == Setting(description="a table", default={"a": 1})
    assert by_name["inner"].metadata[SECTION] == config_schema_section("inner", Inner, False)
    assert by_name["maybe"].metadata[SECTION] == config_schema_section("maybe", Inner, True)
    with pytest.raises(TypeError, match="'per env': a per-environment default needs an explicit unset value"):
        setting("per env", default=PerEnvironment("x-{environment}"))


def config_schema_section(name, config_class, optional):
    from modules.config.schema import Section

    return Section(name, config_class, optional)


def test_each_element_is_checked_and_only_failures_are_dropped():
    raw = with_("tags", {"aws:owner": "me", "team": "platform", "long": "x" * 257, "ok": "yes"})
    assert rejection(raw).splitlines() == [
        'test.toml: tags.aws:owner: "aws:owner" is not a valid tag key '
        '(expected 1-128 characters, not starting with "aws:")',
        f'test.toml: tags.long: "{"x" * 257}" is not a valid tag value (expected a string of at most 256 characters)',
    ]
    reader = Reader("file.toml", "dev")
    (tags,) = [key for key in sections.KEYS if key.path == "tags"]
    assert reader.read({"tags": {"aws:x": "a", "b": 5, "c": "d"}}, tags) == {"c": "d"}
    assert (
        reader.errors[1]
        == "file.toml: tags.b: 5 is not a valid tag value (expected a string of at most 256 characters)"
    )


def test_a_failed_check_says_so_and_the_default_is_kept():
    reader = Reader("file.toml", "dev")
    assert reader.check("lambda.memory", 1, between(128, 10240)) is False
    assert reader.check("lambda.memory", 128, between(128, 10240)) is True
    (memory,) = [key for key in sections.KEYS if key.path == "lambda.memory"]
    assert reader.read({"memory": 1}, memory) == 256
    assert len(reader.errors) == 2


def test_an_empty_folder_says_there_are_no_environments(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_environments(tmp_path)
    assert str(err.value) == f"{tmp_path}/: no environment files (expected <env>.toml)"


def test_lists_in_messages_and_tables_are_comma_separated(tmp_path):
    two = ["111111111111", "222222222222"]
    write(
        tmp_path,
        {
            "a": with_("allowed_account_ids", two, own("a", "111111111111")),
            "b": with_(
                "allowed_account_ids",
                ["333333333333", "444444444444"],
                with_("domain", {"zone_name": "a.example.com", "record_name": "api.b.a.example.com"}, own("b", "3")),
            ),
        },
    )
    message = str(pytest.raises(ConfigError, load_environments, tmp_path).value)
    assert "(333333333333, 444444444444 vs 111111111111, 222222222222)" in message
    summary = docs.environments_table([parse(with_("allowed_account_ids", two))])
    assert "| `test` | 111111111111, 222222222222 |" in summary


def test_three_environments_sharing_a_quota_are_named_together(tmp_path):
    files = {
        name: own(name, "111111111111", lambda__reserved_concurrency=100, api__manage_account_settings=name == "a")
        for name in ("a", "b", "c")
    }
    write(tmp_path, files)
    message = str(pytest.raises(ConfigError, load_environments, tmp_path).value).splitlines()[0]
    assert f"with {tmp_path / 'a.toml'}, {tmp_path / 'b.toml'}: they reserve 984 together, leaving 16" in message


def test_a_one_character_marker_pair_on_consecutive_lines_is_an_empty_span():
    assert marked_span("B\nEND\n", "B", "END") == (2, 2)


def test_the_command_description_is_its_own_line(capsys):
    with pytest.raises(SystemExit):
        docs.main(["--help"])
    assert "\nThe environment-file keys.\n" in capsys.readouterr().out


# --- what the run after the split found: the [chaos] fis rule and runtime_refusal -------------------------

FIS_AT_THE_LIMIT = {
    "project": "a-project-name-of-20",
    "regions": ["ap-southeast-1", "eu-west-1"],
    "allowed_account_ids": ["123456789012"],
    "auth": {"issuer": "https://auth.example.com/", "audience": "items"},
    "chaos": {"fis": True},
}


def test_a_fis_bucket_name_of_exactly_63_characters_is_accepted_and_64_refused_in_full():
    """20 + 10 + 14 characters of project, environment and region make a 63-character name."""
    accepted = parse_environment(FIS_AT_THE_LIMIT, environment="abcdefghij", source="test.toml")
    assert accepted.chaos.fis is True
    with pytest.raises(ConfigError) as err:
        parse_environment(FIS_AT_THE_LIMIT, environment="abcdefghijk", source="test.toml")
    assert str(err.value) == (
        "test.toml: chaos.fis: true needs a bucket per region named <project>-<env>-fis-<account>-<region>, "
        "64 characters for 'a-project-name-of-20-abcdefghijk-fis-000000000000-ap-southeast-1' "
        "(expected at most 63: S3's limit; use a shorter project or environment name)"
    )


def test_fis_in_an_emulator_environment_is_refused_in_full():
    raw = {**with_("allowed_account_ids", ..., with_("chaos", {"fis": True})), "emulator": True}
    raw["auth"] = {"audience": "items"}
    with pytest.raises(ConfigError) as err:
        parse(raw)
    assert str(err.value) == (
        "test.toml: chaos.fis: true is not available with emulator = true (expected false: the emulator has no "
        "AWS FIS; the local experiments inject their faults into the local deployment instead)"
    )


def test_fis_without_regions_reports_only_the_missing_regions():
    """No region means no bucket name to measure: nothing to add, and nothing to fail on."""
    with pytest.raises(ConfigError) as err:
        parse(with_("regions", ..., with_("chaos", {"fis": True})))
    assert str(err.value) == "test.toml: regions: (not set) is missing (expected a list)"


def test_a_runtime_is_deprecated_on_its_date_and_the_last_one_says_to_update_the_table():
    from modules.config.rules import runtime_refusal

    assert runtime_refusal("python3.12", datetime.date(2028, 10, 31)) == (
        "was deprecated by AWS Lambda on 2028-10-31, within 183 days of 2028-10-31 "
        "(expected one of: python3.13; Lambda runtimes page)"
    )
    # 183 days before python3.13's date: it is refused too, so none is left to suggest.
    assert runtime_refusal("python3.12", datetime.date(2028, 12, 29)) == (
        "was deprecated by AWS Lambda on 2028-10-31, within 183 days of 2028-12-29 "
        "(expected one of: none left: update RUNTIME_DEPRECATION; Lambda runtimes page)"
    )
