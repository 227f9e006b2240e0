"""``make chaos ENV=<env> EXPERIMENT=fis-...``: one FIS experiment of a real environment (its
``[chaos] fis`` templates, modules/constructs/chaos_fis.py) run through Chaos Toolkit
(chaostoolkit-aws's ``start_experiment`` / ``stop_experiment``) under the same client load and
verdict as the local experiments, through the environment's global name
(``https://<domain.record_name>``). docs/chaos.md, "On AWS".

The Chaos Toolkit providers here find the region's template by its tags (``environment`` and
``chaos-experiment``), start it, wait for FIS to end it (its duration, or a stop condition:
the region's alarms), and, as the rollback, stop it if it still runs. Nothing here has been
run against a real account from this project (docs/chaos.md says so); the AWS calls are tested
with botocore's Stubber.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaosaws import aws_client  # type: ignore[import-untyped]  # no stubs
from chaosaws.fis import actions as fis_actions  # type: ignore[import-untyped]

from ops import chaos_load, chaos_plot, chaos_verdict

if TYPE_CHECKING:
    from collections.abc import Callable

    from modules.config.sections import EnvironmentConfig

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments" / "aws"
EXPERIMENT_TAG = "chaos-experiment"  # modules/constructs/chaos_fis.py's
ENVIRONMENT_TAG = "environment"  # the provider's default tags
# FIS's terminal states (GetExperiment's state.status).
TERMINAL = frozenset({"completed", "stopped", "failed", "cancelled"})
# The token every request carries: a real environment's issuer, not the local one.
TOKEN_VARIABLE = "CHAOS_TOKEN"


@dataclass
class Started:
    """The FIS experiment this process started (one at a time)."""

    region: str
    template_id: str
    experiment_id: str
    started: float
    status: str = "initiating"
    reason: str = ""
    stopped_by_us: bool = False


_started: Started | None = None


def experiment_names() -> list[str]:
    return sorted(path.stem for path in EXPERIMENTS.glob("*.json"))


def _fis(region: str, configuration: dict | None, secrets: dict | None) -> Any:
    return aws_client("fis", {**(configuration or {}), "aws_region": region}, secrets)


def find_template(client: Any, environment: str, experiment: str) -> str:
    """The id of the one template tagged for ``environment`` and ``experiment`` in the
    client's region."""
    found, token = [], None
    while True:
        page = client.list_experiment_templates(**({"nextToken": token} if token else {}))
        found += [
            template["id"]
            for template in page.get("experimentTemplates", [])
            if template.get("tags", {}).get(ENVIRONMENT_TAG) == environment
            and template.get("tags", {}).get(EXPERIMENT_TAG) == experiment
        ]
        token = page.get("nextToken")
        if not token:
            break
    if len(found) != 1:
        raise RuntimeError(
            f"{len(found)} FIS templates tagged {ENVIRONMENT_TAG}={environment}, {EXPERIMENT_TAG}={experiment} "
            "(expected exactly one: deploy the environment with [chaos] fis = true)"
        )
    return found[0]


def start_fis(
    experiment: str, environment: str, region: str, configuration: dict | None = None, secrets: dict | None = None
) -> dict:
    """Chaos Toolkit action: start the region's template through chaostoolkit-aws."""
    global _started
    template = find_template(_fis(region, configuration, secrets), environment, experiment)
    response = fis_actions.start_experiment(
        experiment_template_id=template,
        tags={EXPERIMENT_TAG: experiment, ENVIRONMENT_TAG: environment},
        configuration={**(configuration or {}), "aws_region": region},
        secrets=secrets,
    )
    started = response["experiment"]
    _started = Started(region, template, started["id"], time.time(), started.get("state", {}).get("status", ""))
    return {"id": started["id"], "template": template, "status": _started.status}


def wait_fis(
    timeout_s: float, poll_s: float = 10.0, configuration: dict | None = None, secrets: dict | None = None
) -> dict:
    """Chaos Toolkit action: until FIS ends the experiment (its duration, or a stop condition)
    or ``timeout_s`` passes. A stop FIS made itself names the alarms in ALARM."""
    started = _current()
    client = _fis(started.region, configuration, secrets)
    deadline = time.time() + timeout_s
    while True:
        state = client.get_experiment(id=started.experiment_id)["experiment"]["state"]
        started.status, started.reason = state["status"], state.get("reason", "")
        if started.status in TERMINAL or time.time() > deadline:
            break
        time.sleep(poll_s)
    _record_window(started)
    outcome = {"status": started.status, "reason": started.reason, "alarms": []}
    if started.status == "stopped" and not started.stopped_by_us:
        outcome["alarms"] = alarms_in_alarm(client, started, configuration, secrets)
    if started.status not in TERMINAL:
        raise RuntimeError(f"FIS experiment {started.experiment_id} still {started.status} after {timeout_s:g} s")
    return outcome


def stop_fis(configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Chaos Toolkit rollback: stop the experiment through chaostoolkit-aws if it still runs."""
    if _started is None:
        return {"stopped": False, "reason": "no experiment started"}
    client = _fis(_started.region, configuration, secrets)
    status = client.get_experiment(id=_started.experiment_id)["experiment"]["state"]["status"]
    if status in TERMINAL:
        return {"stopped": False, "status": status}
    fis_actions.stop_experiment(
        experiment_id=_started.experiment_id,
        configuration={**(configuration or {}), "aws_region": _started.region},
        secrets=secrets,
    )
    _started.stopped_by_us = True
    return {"stopped": True, "status": status}


def alarms_in_alarm(client: Any, started: Started, configuration: dict | None, secrets: dict | None) -> list[str]:
    """The template's stop-condition alarms now in ALARM (why FIS stopped it)."""
    template = client.get_experiment_template(id=started.template_id)["experimentTemplate"]
    names = [
        condition["value"].rsplit(":alarm:", 1)[-1]
        for condition in template.get("stopConditions", [])
        if condition.get("source") == "aws:cloudwatch:alarm"
    ]
    if not names:
        return []
    cloudwatch = aws_client("cloudwatch", {**(configuration or {}), "aws_region": started.region}, secrets)
    alarms = cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    return sorted(alarm["AlarmName"] for alarm in alarms if alarm["StateValue"] == "ALARM")


def _record_window(started: Started) -> None:
    """The fault window the verdict's RPO reads: from the start to FIS's end."""
    try:
        run = chaos_load.current()
    except RuntimeError:
        return  # a provider called outside a run
    run.faults.append(chaos_load.Window("fis", started.started, time.time(), started.region))


def _current() -> Started:
    if _started is None:
        raise RuntimeError("no FIS experiment started in this process (start_fis first)")
    return _started


def reset() -> None:
    global _started
    _started = None


# --- the run ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AwsEndpoints:
    """What the load and the observer need of a real environment (ops/chaos_load.py's ``Served``)."""

    global_url: str
    regions: tuple[str, ...]
    table_name: str


def deployment_of(config: EnvironmentConfig) -> AwsEndpoints:
    """What the load and the observer need, from the environment file (no emulator)."""
    if config.domain is None:
        raise SystemExit(f"{config.environment}: no [domain]; make chaos needs the global name")
    return AwsEndpoints(
        global_url=f"https://{config.domain.record_name}",
        regions=tuple(config.regions),
        table_name=f"{config.project}-{config.environment}-{config.table.name}",
    )


def load_experiment(name: str, config: EnvironmentConfig, thresholds: dict) -> dict:
    path = EXPERIMENTS / f"{name}.json"
    if not path.is_file():
        raise SystemExit(f"no AWS experiment {name!r} (expected one of: {', '.join(experiment_names())})")
    experiment = json.loads(path.read_text())
    experiment["configuration"] = {
        **experiment.get("configuration", {}),
        "environment": config.environment,
        "primary_region": config.primary_region,
        # FIS's own duration plus a margin for it to start and stop.
        "fis_timeout_s": 60 * config.chaos.fis_duration_minutes + 300,
        **thresholds,
    }
    return experiment


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """How ops/chaos.py judges a run (passed in: this module does not import it)."""

    held: Callable[[dict], bool]
    settle: Callable[..., None]
    thresholds: dict


def run(name: str, config: EnvironmentConfig, out_dir: Path, load: dict, verdict: Verdict) -> str:
    """The experiment under load through the global name; journal and timeline as locally."""
    import boto3  # the observer's reads of each region's table
    from chaoslib.experiment import run_experiment  # type: ignore[import-untyped]

    if not config.chaos.fis:
        raise SystemExit(f"{config.environment}: [chaos] fis is off, so it has no FIS templates (docs/chaos.md)")
    experiment = load_experiment(name, config, verdict.thresholds)
    current = chaos_load.Run(deployment_of(config), out_dir, 1.0, os.environ.get(TOKEN_VARIABLE))
    chaos_load.set_current(current)
    clients = {region: boto3.client("dynamodb", region_name=region) for region in config.regions}
    threads = chaos_load.start(current, load["write_rps"], load["read_rps"], load["max_s"], clients)
    try:
        current.stop.wait(load["warmup_s"])
        journal = run_experiment(experiment, settings={})
        time.sleep(load["settle_s"])
    finally:
        stop_fis()  # whatever happened to the rollbacks
        verdict.settle(current, threads, 30.0, clients)
        chaos_load.set_current(None)
    numbers = chaos_verdict.numbers(current, 0)
    held = verdict.held(journal)
    line = chaos_verdict.line(name, held, numbers)
    stem = f"{name}-{config.environment}-{time.strftime('%Y%m%dT%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    journal["verdict"] = {"held": held, "line": line, **asdict(numbers)}
    (out_dir / f"{stem}.json").write_text(json.dumps(journal, indent=2, default=str) + "\n")
    chaos_plot.timeline(current, out_dir / f"{stem}.png", line)
    return line
