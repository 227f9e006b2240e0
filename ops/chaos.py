"""Runs one chaos experiment (experiments/<name>.json, Chaos Toolkit's format) against the
local deployment (or, for a real environment, one of its FIS experiments: ops/chaos_aws.py)
under a steady client load, and gives its verdict in one line
(docs/chaos.md):

    <name>: steady state held|broken, rto <s> s, rpo <s> s (<n> writes), lost <n>, conflicts <n>[, alarm ...]

An experiment that expects the replication-latency alarm (``expect_replication_alarm``, see
ops/chaos_alarms.py) holds only if that alarm fired during the fault and cleared after it; the
line then ends with what the alarm did.

The journal (Chaos Toolkit's, with the verdict added under ``verdict``) and a PNG timeline
are written to build/chaos/<name>-<time>.{json,png}.

    python -m ops.chaos --experiment region-outage [--time-scale 0.02]
    make chaos EXPERIMENT=region-outage TIME_SCALE=0.02
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from chaoslib.experiment import run_experiment  # type: ignore[import-untyped]  # no stubs

from local import deployment_file, faults
from local.emulator import aws_client
from local.replicator import LAG_BOUND_S
from modules.config.loader import load_environment
from modules.config.sections import ChaosConfig
from ops import chaos_alarms, chaos_aws, chaos_load, chaos_plot, chaos_verdict
from ops.chaos_actions import overwritten
from ops.smoke import smoke_token

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"
# The load and the phases around the experiment, in seconds at TIME_SCALE 1 (rates are not scaled).
# token_refresh_s: wall seconds between fresh tokens (0: one token for the run).
LOAD = {
    "write_rps": 4.0,
    "read_rps": 4.0,
    "warmup_s": 150.0,
    "settle_s": 150.0,
    "max_s": 3600.0,
    "token_refresh_s": 0.0,
}


@dataclass(frozen=True)
class Result:
    name: str
    held: bool
    numbers: chaos_verdict.Numbers
    journal_path: Path
    png_path: Path
    line: str


def thresholds(settings: ChaosConfig) -> dict[str, float]:
    """The experiments' configuration values the environment's ``[chaos]`` section sets."""
    return {"max_error_percent": round(100 * settings.max_error_rate, 4), "max_p99_ms": settings.max_p99_ms}


def experiment_names() -> list[str]:
    return sorted(path.stem for path in EXPERIMENTS.glob("*.json"))


def load_experiment(
    name: str, deployment: deployment_file.Deployment, overrides: dict, settings: ChaosConfig | None = None
) -> dict:
    path = EXPERIMENTS / f"{name}.json"
    if not path.is_file():
        raise SystemExit(f"no experiment {name!r} (expected one of: {', '.join(experiment_names())})")
    experiment = json.loads(path.read_text())
    # The region the global name sends clients to first (the deployment file sorts its regions).
    regions = deployment.latency_order or list(deployment.regions)
    experiment["configuration"] = {
        **experiment.get("configuration", {}),
        "primary_region": regions[0],
        "secondary_region": regions[-1],
        **thresholds(settings or ChaosConfig()),
        **overrides,
    }
    return experiment


def wait_until_served(run: chaos_load.Run, timeout_s: float = 60.0) -> None:
    """Until a read through the global URL is answered by a handler (200 or 404): an earlier
    experiment's effects can outlast its faults (the authorizer waits 30 s before fetching
    the issuer's keys again after a failure), and a run that starts broken measures nothing."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        status, _, _ = chaos_load.call(run.global_url, "GET", "/items/chaos-ready", run.bearer())
        if status in (200, 404):
            return
        time.sleep(0.5)
    raise SystemExit(f"the global URL did not serve within {timeout_s:g} s (last status {status}); not starting")


def held(journal: dict) -> bool:
    after = (journal.get("steady_states") or {}).get("after") or {}
    return journal.get("status") == "completed" and bool(after.get("steady_state_met"))


def settle(run: chaos_load.Run, threads: list, bound_s: float, clients: dict | None = None) -> None:
    """Load stopped; then the observer's reads until every acknowledged write is readable
    everywhere or ``bound_s`` passed (what is still missing then is lost). ``clients``:
    region -> DynamoDB client (default: the emulator's)."""
    run.stop.set()
    for thread in threads:
        thread.join(timeout=chaos_load.REQUEST_TIMEOUT_S + 5)
    if clients is None:
        clients = {region: aws_client("dynamodb", region, run.local().emulator_url) for region in run.regions}
    deadline = time.time() + bound_s
    while True:
        chaos_load.observe_once(run, clients)
        if not chaos_verdict.lost(run) or time.time() > deadline:
            return
        time.sleep(chaos_load.OBSERVE_S)


def run(
    name: str,
    deployment_path: Path,
    time_scale: float | None = None,
    out_dir: Path = ROOT / "build" / "chaos",
    overrides: dict | None = None,
    settings: ChaosConfig | None = None,
) -> Result:
    """``settings``: the environment's ``[chaos]`` section (its defaults when None)."""
    deployment = deployment_file.load(deployment_path)
    experiment = load_experiment(name, deployment, overrides or {}, settings)
    recorded = deployment.time_scale if deployment.time_scale is not None else 1.0
    scale = float(time_scale if time_scale is not None else recorded)
    state_dir = Path(deployment_path).parent
    load = {**LOAD, **experiment["configuration"].get("load", {})}
    current = chaos_load.Run(deployment, state_dir, scale, smoke_token(deployment), load["token_refresh_s"])
    chaos_load.set_current(current)
    wait_until_served(current)
    alarm = chaos_alarms.begin(experiment, deployment)
    threads = chaos_load.start(current, load["write_rps"], load["read_rps"], current.scaled(load["max_s"]))
    try:
        current.stop.wait(current.scaled(load["warmup_s"]))
        journal = run_experiment(experiment, settings={})
        time.sleep(current.scaled(load["settle_s"]))
    finally:
        faults.clear(state_dir)  # whatever happened to the rollbacks
        settle(current, threads, 2 * LAG_BOUND_S + 3)
        chaos_load.set_current(None)
    numbers = chaos_verdict.numbers(current, overwritten(current))
    alarm_as_expected, alarm_words = chaos_alarms.end(alarm, current.window())
    verdict = held(journal) and alarm_as_expected
    line = chaos_verdict.line(name, verdict, numbers) + (f", {alarm_words}" if alarm_words else "")
    stem = f"{name}-{time.strftime('%Y%m%dT%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    journal["verdict"] = {"held": verdict, "line": line, "time_scale": scale, "alarm": alarm_words, **asdict(numbers)}
    journal_path = out_dir / f"{stem}.json"
    journal_path.write_text(json.dumps(journal, indent=2, default=str) + "\n")
    png_path = chaos_plot.timeline(current, out_dir / f"{stem}.png", line)
    return Result(name, verdict, numbers, journal_path, png_path, line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a chaos experiment against a deployment and give its verdict.")
    names = experiment_names() + chaos_aws.experiment_names()
    parser.add_argument("--experiment", required=True, help=f"one of: {', '.join(names)}")
    parser.add_argument("--env", default="local")
    parser.add_argument("--deployment", type=Path, default=Path(".emulator/deployment.json"))
    parser.add_argument("--time-scale", type=float, default=None, help="default: TIME_SCALE, else the deployment's")
    parser.add_argument("--out", type=Path, default=Path("build/chaos"))
    args = parser.parse_args(argv)
    logging.getLogger("chaostoolkit").setLevel(logging.WARNING)
    config = load_environment(ROOT / "environments" / f"{args.env}.toml")
    if not config.emulator:
        verdict = chaos_aws.Verdict(held=held, settle=settle, thresholds=thresholds(config.chaos))
        print(chaos_aws.run(args.experiment, config, args.out, LOAD, verdict))
        return 0
    scale = args.time_scale
    if scale is None and os.environ.get("TIME_SCALE"):
        scale = float(os.environ["TIME_SCALE"])
    result = run(args.experiment, args.deployment, scale, args.out, settings=config.chaos)
    print(f"journal: {result.journal_path}\ntimeline: {result.png_path}", file=sys.stderr)
    print(result.line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
