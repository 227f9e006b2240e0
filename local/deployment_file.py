"""``.emulator/deployment.json``: what ``make deploy`` deployed locally and where it
answers, for scripts and tests to read instead of guessing (schema in docs/local-stand-in.md, "The
deployment file"). ``load()`` gives a typed ``Deployment``; later work adds fields, and readers
ignore the ones they do not know."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from local.emulator import LOOPBACK

FUNCTIONS = ("create_item", "get_item", "delete_item", "health")
REQUIRED = ("emulator_url", "account_id", "stack_dir", "regions")
REGION_REQUIRED = ("api_url", "rest_api_id", "stage", "functions")
AUTH_REQUIRED = ("issuer", "audience", "key_dir")

T = TypeVar("T")


class DeploymentFileError(ValueError):
    pass


@dataclass(frozen=True, kw_only=True)
class AlarmCheck:
    """A Route53 health check on a CloudWatch alarm, as Terraform applied it."""

    id: str
    alarm_name: str
    alarm_region: str
    insufficient_data_health_status: str | None


@dataclass(frozen=True, kw_only=True)
class RegionEndpoint:
    """One region: its gateway and what the emulator holds for it. The fields after
    ``functions`` may be absent from older files."""

    api_url: str
    rest_api_id: str
    stage: str
    functions: dict[str, str]
    health_check_id: str | None = None
    routing_health_check_id: str | None = None
    alarm_check: AlarmCheck | None = None
    guard_checks: tuple[AlarmCheck, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class LocalAuth:
    """The local token issuer (absent when the environment is public)."""

    issuer: str
    audience: str
    key_dir: Path
    token_command: str | None = None


@dataclass(frozen=True, kw_only=True)
class DnsName:
    zone_name: str
    record_name: str


@dataclass(frozen=True, kw_only=True)
class Deployment:
    """The file's fields; the ones after ``regions`` may be absent (None) from older files or
    environments without them. ``source``: the file it was read from, for messages."""

    emulator_url: str
    account_id: str
    stack_dir: Path
    regions: dict[str, RegionEndpoint]
    table_name: str | None = None
    latency_order: tuple[str, ...] | None = None
    time_scale: float | None = None
    auth: LocalAuth | None = None
    url_bases: dict[str, str] | None = None
    global_url: str | None = None
    dns: DnsName | None = None
    source: str = field(default="", compare=False)

    def require(self, fields: tuple[str, ...], reader: str) -> None:
        """Fields a reader needs that older deployment files may lack."""
        missing = [name for name in fields if getattr(self, name) is None]
        if missing:
            raise self._lacks(missing, reader)

    def needed(self, value: T | None, name: str, reader: str) -> T:
        """``value``, the field ``name``, typed as present; require()'s error when it is absent."""
        if value is None:
            raise self._lacks([name], reader)
        return value

    def _lacks(self, missing: list[str], reader: str) -> DeploymentFileError:
        return DeploymentFileError(
            f"{self.source}: {reader} needs {', '.join(missing)} (deploy again with `make deploy`)"
        )

    def as_json(self) -> dict[str, object]:
        """The file's JSON: absent fields left out, paths as strings."""
        plain = _plain(self)
        assert isinstance(plain, dict)
        return plain


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.name != "source"}
        keep_none = isinstance(value, AlarmCheck)
        return {name: _plain(item) for name, item in fields.items() if item is not None or keep_none}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


def build(emulator_url: str, account_id: str, stack_dir: Path, regions: dict[str, dict], **more: object) -> dict:
    """``regions``: region -> {"api_url", "rest_api_id", "stage", "functions", ...}.
    ``more``: the later top-level fields (docs/local-stand-in.md, "The deployment file"): ``global_url``, and
    ``auth``, the local issuer {"issuer", "audience", "key_dir", "token_command"} (left out when
    the API is public), ...; a field whose value is None is left out."""
    return {
        "emulator_url": emulator_url,
        "account_id": account_id,
        "stack_dir": str(stack_dir),
        "regions": regions,
        **{name: value for name, value in more.items() if value is not None},
    }


def write(path: Path, deployment: dict) -> Deployment:
    """Writes ``deployment`` (build()'s) once it passes check(); returns it typed, as load() would."""
    typed = check(deployment, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(deployment, indent=2, sort_keys=True) + "\n")
    partial.replace(path)
    return typed


def load(path: Path) -> Deployment:
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise DeploymentFileError(f"cannot read the deployment file {path}: {err}") from None
    return check(raw, str(path))


def check(raw: object, source: str) -> Deployment:
    """The typed deployment: every field a reader relies on present, each field of its type, and
    every URL on loopback; otherwise an error naming the file, the field and what was expected."""
    top = _Fields(raw, "", source)
    top.present(REQUIRED, "missing")
    regions = top.table("regions")
    for region in regions:
        regions[region].present(REGION_REQUIRED, f"region {region} lacks")
    deployment = Deployment(
        emulator_url=top.text("emulator_url"),
        account_id=top.text("account_id"),
        stack_dir=Path(top.text("stack_dir")),
        regions={region: _region(fields) for region, fields in regions.items()},
        table_name=top.optional_text("table_name"),
        latency_order=top.texts("latency_order"),
        time_scale=top.number("time_scale"),
        auth=_auth(top.optional_object("auth")),
        url_bases=top.optional_strings("url_bases"),
        global_url=top.optional_text("global_url"),
        dns=_dns(top.optional_object("dns")),
        source=source,
    )
    _check_values(deployment, source)
    return deployment


def _region(fields: _Fields) -> RegionEndpoint:
    alarm = fields.optional_object("alarm_check")
    guards = fields.objects("guard_checks")
    return RegionEndpoint(
        api_url=fields.text("api_url"),
        rest_api_id=fields.text("rest_api_id"),
        stage=fields.text("stage"),
        functions=fields.strings("functions"),
        health_check_id=fields.optional_text("health_check_id"),
        routing_health_check_id=fields.optional_text("routing_health_check_id"),
        alarm_check=_alarm(alarm) if alarm else None,
        guard_checks=tuple(_alarm(guard) for guard in guards) if guards is not None else None,
    )


def _alarm(fields: _Fields) -> AlarmCheck:
    return AlarmCheck(
        id=fields.text("id"),
        alarm_name=fields.text("alarm_name"),
        alarm_region=fields.text("alarm_region"),
        insufficient_data_health_status=fields.optional_text("insufficient_data_health_status"),
    )


def _auth(fields: _Fields | None) -> LocalAuth | None:
    if fields is None:
        return None
    fields.present(AUTH_REQUIRED, "auth lacks")
    return LocalAuth(
        issuer=fields.text("issuer"),
        audience=fields.text("audience"),
        key_dir=Path(fields.text("key_dir")),
        token_command=fields.optional_text("token_command"),
    )


def _dns(fields: _Fields | None) -> DnsName | None:
    if fields is None:
        return None
    return DnsName(zone_name=fields.text("zone_name"), record_name=fields.text("record_name"))


def _check_values(deployment: Deployment, source: str) -> None:
    account = deployment.account_id
    if not (account.isdigit() and len(account) == 12):
        raise DeploymentFileError(f"{source}: account_id {account!r} is not 12 digits")
    _loopback(deployment.emulator_url, f"{source}: emulator_url")
    if deployment.global_url is not None:
        _loopback(deployment.global_url, f"{source}: global_url")
    for region, served in deployment.regions.items():
        _loopback(served.api_url, f"{source}: regions.{region}.api_url")
    if deployment.auth is not None:
        _loopback(deployment.auth.issuer, f"{source}: auth.issuer")


def port(url: str, where: str) -> int:
    """The port a reader listens on, from one of the file's URLs (``where``: its field)."""
    found = urlsplit(url).port
    if found is None:
        raise DeploymentFileError(f"{where} {url!r} names no port (expected http://{LOOPBACK}:PORT)")
    return found


def _loopback(url: str, where: str) -> None:
    if urlsplit(url).hostname not in (LOOPBACK, "localhost"):
        raise DeploymentFileError(f"{where} {url!r} is not on loopback (expected http://{LOOPBACK}:PORT)")


class _Fields:
    """One JSON object of the file, read field by field with its type checked; ``where`` is its
    dotted path in the file (``regions.eu-west-1.``), for messages."""

    def __init__(self, raw: object, where: str, source: str) -> None:
        if not isinstance(raw, dict):
            place = where.rstrip(".") or "the file"
            raise DeploymentFileError(f"{source}: {place} is {raw!r}, expected a JSON object")
        self.raw, self.where, self.source = raw, where, source

    def present(self, names: tuple[str, ...], saying: str) -> None:
        missing = [name for name in names if name not in self.raw]
        if missing:
            raise DeploymentFileError(f"{self.source}: {saying} {', '.join(missing)}")

    def _wrong(self, name: str, expected: str) -> DeploymentFileError:
        return DeploymentFileError(f"{self.source}: {self.where}{name} is {self.raw[name]!r}, expected {expected}")

    def text(self, name: str) -> str:
        value = self.raw[name]
        if not isinstance(value, str):
            raise self._wrong(name, "a string")
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self.raw.get(name) is None else self.text(name)

    def number(self, name: str) -> float | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong(name, "a number")
        return float(value)

    def texts(self, name: str) -> tuple[str, ...] | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
            raise self._wrong(name, "a list of strings")
        return tuple(value)

    def optional_strings(self, name: str) -> dict[str, str] | None:
        return None if self.raw.get(name) is None else self.strings(name)

    def strings(self, name: str) -> dict[str, str]:
        value = self.raw[name]
        if not (isinstance(value, dict) and all(isinstance(item, str) for item in value.values())):
            raise self._wrong(name, "an object of strings")
        return dict(value)

    def optional_object(self, name: str) -> _Fields | None:
        value = self.raw.get(name)
        return None if value is None else _Fields(value, f"{self.where}{name}.", self.source)

    def objects(self, name: str) -> list[_Fields] | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._wrong(name, "a list of objects")
        return [_Fields(item, f"{self.where}{name}[{index}].", self.source) for index, item in enumerate(value)]

    def table(self, name: str) -> dict[str, _Fields]:
        value = self.raw[name]
        if not isinstance(value, dict):
            raise self._wrong(name, "an object")
        return {key: _Fields(item, f"{self.where}{name}.{key}.", self.source) for key, item in value.items()}
