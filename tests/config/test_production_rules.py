"""Rules a real account imposes (issue 9): one hosted zone per account, Lambda reservations
that fit the account's concurrency quota, one owner of API Gateway's account settings per
account and region, a health path the API serves, Lambda's log levels, and an account on
every real environment. Rules across files name both files."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from modules.config.limits import HEALTH_RESERVED_CONCURRENCY, MIN_UNRESERVED_CONCURRENCY
from modules.config.loader import load_environments, parse_environment
from modules.config.schema import ConfigError
from modules.routes import ROUTES

ITEM_FUNCTIONS = len([route for route in ROUTES if route.id != "health"])

BASE = {
    "project": "items",
    "regions": ["eu-west-1", "eu-central-1"],
    "allowed_account_ids": ["123456789012"],
    "domain": {"zone_name": "example.com", "record_name": "api.example.com"},
    "auth": {"issuer": "https://auth.example.com/", "audience": "https://api.example.com"},
}


def parse(raw, environment="test"):
    return parse_environment(raw, environment=environment, source="test.toml")


def with_(path: str, value, raw=None):
    """``raw`` (default BASE) with one dotted key set (a value of ... deletes it)."""
    raw = copy.deepcopy(BASE if raw is None else raw)
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    if value is ...:
        node.pop(last, None)
    else:
        node[last] = value
    return raw


def toml(raw: dict) -> str:
    """A small TOML writer for the dicts these tests use (strings, numbers, booleans,
    lists of strings, one level of tables)."""

    def value(item):
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, str):
            return f'"{item}"'
        if isinstance(item, list):
            return "[" + ", ".join(value(element) for element in item) + "]"
        return str(item)

    top = [f"{key} = {value(item)}" for key, item in raw.items() if not isinstance(item, dict)]
    tables = [
        f"[{name}]\n" + "\n".join(f'"{key}" = {value(item)}' for key, item in table.items())
        for name, table in raw.items()
        if isinstance(table, dict)
    ]
    return "\n".join(top + tables) + "\n"


def write(directory: Path, files: dict[str, dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, raw in files.items():
        (directory / f"{name}.toml").write_text(toml(raw))
    return directory


def problem(directory: Path, names=None) -> str:
    with pytest.raises(ConfigError) as err:
        load_environments(directory, names)
    return str(err.value)


# --- item 1: an account on every real environment, one hosted zone per account ---------


def test_a_real_environment_without_an_account_is_rejected():
    message = str(pytest.raises(ConfigError, parse, with_("allowed_account_ids", ...)).value)
    assert message.startswith("test.toml: allowed_account_ids: (not set) is missing")
    assert "only emulator environments may leave it out" in message


def test_an_emulator_environment_needs_no_account():
    emulated = with_("emulator", True, with_("allowed_account_ids", ..., with_("auth.issuer", ...)))
    assert parse(emulated).allowed_account_ids == ()


def test_account_ids_parse_in_order_and_a_13_digit_id_is_rejected():
    assert parse(with_("allowed_account_ids", ["210987654321", "123456789012"])).allowed_account_ids == (
        "210987654321",
        "123456789012",
    )
    message = str(pytest.raises(ConfigError, parse, with_("allowed_account_ids", ["1234567890123"])).value)
    assert 'allowed_account_ids: "1234567890123" is not an AWS account id (expected a string of 12 digits)' in message


def test_one_zone_named_by_two_accounts_is_rejected_naming_both_files(tmp_path):
    directory = write(
        tmp_path,
        {
            "prod": BASE,
            "staging": with_(
                "allowed_account_ids", ["222222222222"], with_("domain.record_name", "api.staging.example.com")
            ),
        },
    )
    message = problem(directory)
    assert f'{directory / "staging.toml"}: domain.zone_name: "example.com"' in message
    assert f"is also the zone of {directory / 'prod.toml'}" in message
    assert "222222222222" in message and "123456789012" in message
    assert "a public hosted zone belongs to one account" in message


def test_the_conflict_is_found_when_only_one_of_the_files_is_selected(tmp_path):
    directory = write(
        tmp_path,
        {
            "prod": BASE,
            "staging": with_(
                "allowed_account_ids", ["222222222222"], with_("domain.record_name", "api.staging.example.com")
            ),
        },
    )
    assert "is also the zone of" in problem(directory, ["prod"])


def test_one_zone_shared_by_environments_of_one_account_is_fine(tmp_path):
    directory = write(
        tmp_path,
        {
            "prod": BASE,
            "qa": with_("api.manage_account_settings", False, with_("domain.record_name", "api.qa.example.com")),
        },
    )
    assert [config.environment for config in load_environments(directory)] == ["prod", "qa"]


def test_two_environments_serving_one_name_are_rejected(tmp_path):
    directory = write(tmp_path, {"prod": BASE, "qa": with_("api.manage_account_settings", False)})
    message = problem(directory)
    assert (
        f'{directory / "qa.toml"}: domain.record_name: "api.example.com" is also the name of {directory / "prod.toml"} '
        "(expected a name of its own: two stacks would take each other's records and validation record)"
    ) in message


def test_shipped_real_environments_each_have_an_account_and_a_zone_of_their_own(environment_configs):
    real = {name: config for name, config in environment_configs.items() if not config.emulator}
    assert {"dev", "staging", "prod"} <= set(real)
    assert all(config.allowed_account_ids for config in real.values())
    zones = {config.domain.zone_name: config.allowed_account_ids for config in real.values() if config.domain}
    assert len(zones) == len([config for config in real.values() if config.domain])


# --- item 2: reservations that fit the account ------------------------------------------


def test_reservations_default_to_the_health_function_only():
    config = parse(BASE)
    assert config.lambda_.account_concurrency == 1000
    assert config.lambda_.reserved_for("health") == HEALTH_RESERVED_CONCURRENCY
    assert config.lambda_.reserved_for("create_item") is None
    assert config.lambda_.reserved_per_region == HEALTH_RESERVED_CONCURRENCY


def test_only_item_functions_take_the_configured_reservation():
    config = parse(with_("lambda.reserved_concurrency", 50))
    assert {route.id: config.lambda_.reserved_for(route.id) for route in ROUTES} == {
        "create_item": 50,
        "get_item": 50,
        "delete_item": 50,
        "health": HEALTH_RESERVED_CONCURRENCY,
    }
    assert config.lambda_.reserved_per_region == 50 * ITEM_FUNCTIONS + HEALTH_RESERVED_CONCURRENCY


def _with_reservation(reserved: int, account: int) -> dict:
    return with_("lambda.account_concurrency", account, with_("lambda.reserved_concurrency", reserved))


def test_reservations_may_leave_exactly_the_minimum_unreserved():
    reserved = 290
    account = reserved * ITEM_FUNCTIONS + HEALTH_RESERVED_CONCURRENCY + MIN_UNRESERVED_CONCURRENCY
    assert parse(_with_reservation(reserved, account)).lambda_.account_concurrency == account


def test_reservations_that_leave_less_than_the_minimum_are_rejected():
    reserved = 290
    account = reserved * ITEM_FUNCTIONS + HEALTH_RESERVED_CONCURRENCY + MIN_UNRESERVED_CONCURRENCY - 1
    message = str(pytest.raises(ConfigError, parse, _with_reservation(reserved, account)).value)
    total = reserved * ITEM_FUNCTIONS + HEALTH_RESERVED_CONCURRENCY
    assert f"test.toml: lambda.reserved_concurrency: {reserved} reserves {total} per region" in message
    assert f"leaves {account - total} of lambda.account_concurrency = {account}" in message
    assert "expected at least 100 unreserved" in message


def test_prod_as_it_was_is_rejected():
    """200 for each of 4 functions was 800 per region; now 200 x 3 + 10 still fits 1000,
    but not an account with a quota of 700."""
    message = str(pytest.raises(ConfigError, parse, _with_reservation(200, 700)).value)
    assert "lambda.reserved_concurrency: 200 reserves 628 per region" in message


def test_account_concurrency_boundaries():
    assert parse(with_("lambda.account_concurrency", 100_000)).lambda_.account_concurrency == 100_000
    message = str(pytest.raises(ConfigError, parse, with_("lambda.account_concurrency", 100_001)).value)
    assert "lambda.account_concurrency: 100001 is out of range (expected 1 to 100000)" in message


def test_an_account_too_small_for_the_health_reservation_is_named():
    message = str(pytest.raises(ConfigError, parse, with_("lambda.account_concurrency", 100)).value)
    assert "test.toml: lambda.account_concurrency: 100 reserves 28 per region" in message
    assert "which leaves 72 of lambda.account_concurrency = 100 unreserved" in message


def test_reservations_of_two_environments_in_one_account_and_region_add_up(tmp_path):
    """Reservations are per account and region: two environments there share one quota.
    100 per item function is 328 each, 656 together (344 left); 150 is 478 each, 956
    together, and only 44 left."""
    qa = with_("api.manage_account_settings", False, with_("domain.record_name", "api.qa.example.com"))
    fits = write(
        tmp_path / "fits",
        {"prod": with_("lambda.reserved_concurrency", 100), "qa": with_("lambda.reserved_concurrency", 100, qa)},
    )
    assert len(load_environments(fits)) == 2
    too_much = write(
        tmp_path / "too_much",
        {"prod": with_("lambda.reserved_concurrency", 150), "qa": with_("lambda.reserved_concurrency", 150, qa)},
    )
    message = problem(too_much)
    assert "lambda.reserved_concurrency" in message
    assert f"{too_much / 'prod.toml'}" in message and f"{too_much / 'qa.toml'}" in message
    assert "account 123456789012 in eu-west-1" in message
    assert "reserve 956 together, leaving 44" in message


# --- item 3: one owner of API Gateway's account settings per account and region ----------


def test_manage_account_settings_defaults_to_true():
    assert parse(BASE).api.manage_account_settings is True
    assert parse(with_("api.manage_account_settings", False)).api.manage_account_settings is False


def test_two_owners_in_one_account_and_region_are_rejected_naming_both_files(tmp_path):
    directory = write(tmp_path, {"prod": BASE, "qa": with_("domain.record_name", "api.qa.example.com")})
    message = problem(directory)
    assert f"{directory / 'qa.toml'}: api.manage_account_settings: true" in message
    assert f"also set by {directory / 'prod.toml'}" in message
    assert "account 123456789012 in eu-west-1, eu-central-1" in message


def test_owners_in_different_regions_of_one_account_are_fine(tmp_path):
    other = with_("regions", ["us-east-1", "us-west-2"], with_("domain.record_name", "api.qa.example.com"))
    assert len(load_environments(write(tmp_path, {"prod": BASE, "qa": other}))) == 2


def test_an_environment_that_does_not_manage_them_needs_an_owner_in_each_region(tmp_path):
    qa = with_("api.manage_account_settings", False, with_("domain.record_name", "api.qa.example.com"))
    qa["regions"] = ["eu-west-1", "us-east-1"]
    directory = write(tmp_path, {"prod": BASE, "qa": qa})
    message = problem(directory)
    assert f"{directory / 'qa.toml'}: api.manage_account_settings: false" in message
    assert "no environment manages them in account 123456789012 in us-east-1" in message
    assert "eu-west-1" not in message.split("manages them in", 1)[1]


# --- item 5: the health path the API serves ---------------------------------------------


def test_the_health_path_must_be_the_health_route():
    assert parse(with_("health_check.path", "/health")).health_check.path == "/health"
    message = str(pytest.raises(ConfigError, parse, with_("health_check.path", "/status")).value)
    assert 'health_check.path: "/status" is not the path of the health route' in message
    assert '(expected "/health"' in message


# --- item 6: the latency alarm's threshold -------------------------------------------------


def test_latency_threshold_defaults_and_boundaries():
    assert parse(BASE).alarms.api_p99_latency_ms == 1000
    assert parse(with_("alarms.api_p99_latency_ms", 10)).alarms.api_p99_latency_ms == 10
    assert parse(with_("alarms.api_p99_latency_ms", 29000)).alarms.api_p99_latency_ms == 29000
    message = str(pytest.raises(ConfigError, parse, with_("alarms.api_p99_latency_ms", 29001)).value)
    assert "alarms.api_p99_latency_ms: 29001 is out of range (expected 10 to 29000)" in message


# --- item 7: Lambda's log levels --------------------------------------------------------


@pytest.mark.parametrize("level", ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"])
def test_lambda_log_levels_are_accepted(level):
    assert parse(with_("lambda.log_level", level)).lambda_.log_level == level


def test_log_level_defaults_to_info_and_python_names_are_rejected():
    assert parse(BASE).lambda_.log_level == "INFO"
    message = str(pytest.raises(ConfigError, parse, with_("lambda.log_level", "WARNING")).value)
    assert (
        'lambda.log_level: "WARNING" is not allowed (expected one of: TRACE, DEBUG, INFO, WARN, ERROR, FATAL)'
        in message
    )


# --- the README says what each environment needs and whom its alarms reach ----------------


def test_readme_summary_of_the_environments_is_current(environment_configs):
    from modules.config import docs
    from modules.config.schema import marked_span

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start, stop = marked_span(readme, docs.SUMMARY_BEGIN, docs.SUMMARY_END)
    assert readme[start:stop] == docs.environments_table(environment_configs.values()), "run `make docs`"


def test_summary_names_the_quota_and_an_environment_without_subscriber():
    from modules.config.docs import environments_table

    quiet = parse(with_("lambda.reserved_concurrency", 100), environment="qa")
    paged = parse(with_("alarms.email", "ops@example.com", with_("api.manage_account_settings", False)))
    rows = environments_table([quiet, paged]).splitlines()[2:]
    assert rows[0].rstrip(" |").split(" | ")[4:8] == [
        "**nobody**: no `alarms.email`, alarms show in the CloudWatch console only",
        "328",
        "428 (declared: 1000)",
        "set here",
    ]
    assert rows[1].split(" | ")[4] == "ops@example.com" and rows[1].endswith("| set by another environment |")
    assert rows[1].startswith("| `test` | 123456789012 | `example.com` | eu-west-1, eu-central-1 |")
