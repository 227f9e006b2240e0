"""The failover drill as one command, and region evacuation without Terraform.

    make drill [ENV=local] [REGION=<primary>]
    python -m ops.drill [--env ENV] [--region REGION] [--yes]
    python -m ops.drill --evacuate REGION [--env ENV] [--yes]
    python -m ops.drill --restore REGION [--env ENV] [--yes]

The drill, on the local environment (the emulator and its global router) or a real one:

1. baseline: which region answers through the global name; each region's health status;
2. break: ``STATUS=503`` on the region's health function (UpdateFunctionConfiguration with
   every other variable kept), so its /health fails while the rest of the API still works;
3. watch until Route53 marks the region unhealthy (locally the router; on AWS
   GetHealthCheckStatus, each checker's view) and the global name answers from another
   region (on AWS: TestDNSAnswer and a resolution from this machine), writing items through
   the global name meanwhile and reading their ``origin_region``;
4. restore: the variables as they were, always (on an error and on Ctrl-C too), then wait
   until the region is healthy and answers again;
5. report a timeline, then ``failover <s> s, recovery <s> s, bound <s> s``: the bound is the
   worst case the configuration allows (modules/failover.py), scaled by the router's
   TIME_SCALE locally. Each time counts from when the change is in effect (locally the
   region's own /health answers 503, or 200 again; on AWS Lambda reports the update applied),
   as the bound does. Exit status 0 only if both stayed within it and the restore held.

Evacuation takes a region out of DNS through Route53 alone (Terraform may not even plan
during a regional outage, since one stack refreshes every region): it sets the threshold of
the region's calculated health check above its number of children, which Route53 always
considers unhealthy, whatever the children say; ``--restore`` puts the threshold back. Why
not ``Inverted``: an inverted check turns healthy when the region really fails, and would
bring a broken region back into DNS. Both are idempotent and refuse to evacuate the last
region (with every record unhealthy, Route53 answers with all of them). The stack ignores
changes to that threshold, so the next apply leaves an evacuation in place.

An environment with ``protected = true`` asks for its name before anything changes
(``--yes`` skips the question, for automation that has its own approval).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeAlias

from botocore.exceptions import BotoCoreError, ClientError

from modules.failover import FailoverBound, routing_threshold
from ops.drill_targets import AwsTarget, DrillError, LocalTarget

if TYPE_CHECKING:
    from collections.abc import Callable

    from local.emulator import AwsClient
    from modules.config.sections import EnvironmentConfig

Target: TypeAlias = LocalTarget | AwsTarget
HEALTH_WORDS: dict[bool | None, str] = {True: "healthy", False: "unhealthy", None: "unknown"}

PROJECT_DIR = Path(__file__).resolve().parent.parent
DRILL_STATUS = "503"
# At most this many items are written through the global name during one drill.
MAX_ITEMS = 100
# Waits end after the bound times this (plus a minute scaled), with an error.
DEADLINE_FACTOR = 2.0


@dataclass
class Timeline:
    clock: Callable[[], float]
    start: float = 0.0
    entries: list[tuple[float, str]] = field(default_factory=list)
    out: TextIO | None = None

    def __post_init__(self) -> None:
        self.start = self.clock()

    def note(self, text: str) -> float:
        elapsed = self.clock() - self.start
        self.entries.append((elapsed, text))
        if self.out is not None:
            print(f"  +{elapsed:7.1f} s  {text}", file=self.out, flush=True)
        return elapsed


class ForcedStatus:
    """``STATUS`` on one health function, set and put back with every other variable kept."""

    def __init__(self, client: AwsClient, function_name: str, sleep: Callable[[float], None]) -> None:
        self.client, self.function_name, self.sleep = client, function_name, sleep
        self.original: dict[str, str] | None = None

    def variables(self) -> dict[str, str]:
        configuration = self.client.get_function_configuration(FunctionName=self.function_name)
        return dict((configuration.get("Environment") or {}).get("Variables") or {})

    def set(self, status: str) -> None:
        variables = self.variables()
        if "STATUS" in variables:
            raise DrillError(
                f"STATUS is already {variables['STATUS']!r} on {self.function_name}: another drill is "
                "running or one left it set; remove it first"
            )
        self.original = variables
        self._update({**variables, "STATUS": status})

    def restore(self, attempts: int = 5) -> bool:
        """True when the variables are back as they were (False: nothing was set)."""
        original = self.original
        if original is None:
            return False
        last: object = "the variables read back differ"
        for attempt in range(attempts):
            try:
                self._update(original)
                if self.variables() == original:
                    self.original = None
                    return True
            except Exception as err:  # an update in progress, a throttle: try again
                last = err
            self.sleep(2.0 * (attempt + 1))
        raise DrillError(
            f"could not put back the variables of {self.function_name} ({last!r}); restore them by hand: "
            f"aws lambda update-function-configuration --function-name {self.function_name} "
            "--environment '<the variables without STATUS>'"
        )

    def _update(self, variables: dict[str, str]) -> None:
        self.client.update_function_configuration(FunctionName=self.function_name, Environment={"Variables": variables})
        for _ in range(60):  # Lambda applies the update asynchronously (LastUpdateStatus)
            state = self.client.get_function_configuration(FunctionName=self.function_name).get("LastUpdateStatus")
            if state in (None, "Successful"):
                return
            if state == "Failed":
                raise DrillError(f"updating {self.function_name} failed")
            self.sleep(1.0)
        raise DrillError(f"updating {self.function_name} did not finish")


class Writer:
    """Items written through the global name while the drill watches, with their origin."""

    def __init__(self, target: Target, timeline: Timeline, every_s: float) -> None:
        self.target, self.timeline, self.every_s = target, timeline, every_s
        self.written: list[tuple[float, str, str | None]] = []  # (elapsed, item id, origin)
        self._next = 0.0

    def maybe_write(self) -> None:
        now = self.timeline.clock() - self.timeline.start
        if now < self._next or len(self.written) >= MAX_ITEMS:
            return
        self._next = now + self.every_s
        item_id = f"drill-{uuid.uuid4()}"
        try:
            origin = self.target.write_item(item_id)
        except OSError as err:
            origin = None
            self.timeline.note(f"write through the global name failed: {err}")
        if not self.written or self.written[-1][2] != origin:
            self.timeline.note(f"items written through the global name now come from {origin}")
        self.written.append((now, item_id, origin))

    def cleanup(self) -> None:
        for _, item_id, origin in self.written:
            if origin is not None:
                with contextlib.suppress(OSError):
                    self.target.delete_item(item_id)

    def summary(self, failover_at: float | None) -> str:
        after = [origin for at, _, origin in self.written if failover_at is not None and at >= failover_at]
        origins = sorted({origin or "nowhere" for _, _, origin in self.written})
        counts = ", ".join(
            f"{sum((o or 'nowhere') == name for _, _, o in self.written)} from {name}" for name in origins
        )
        tail = f"; after the failover: {', '.join(sorted({o or 'nowhere' for o in after}))}" if after else ""
        return f"{len(self.written)} items written through the global name: {counts}{tail}"


@dataclass
class DrillResult:
    """``report``: the timeline, then ``summary`` (items, bound, the last line)."""

    failover_s: float | None
    recovery_s: float | None
    bound_s: float
    ok: bool
    report: str
    summary: str


def watch(
    target: Target,
    region: str,
    timeline: Timeline,
    writer: Writer,
    want_healthy: bool,
    answers_from_region: bool,
    deadline_s: float,
    sleep: Callable[[float], None],
) -> float:
    """Until, in one look, Route53 marks ``region`` as ``want_healthy`` and the global name
    answers from ``region`` (``answers_from_region``) or from another region; returns the
    elapsed time then. Notes every change on the timeline; writes items meanwhile."""
    started = timeline.clock()
    seen: dict[str, object] = {}
    while True:
        healthy, health_detail = target.marked_healthy(region)
        answer, answer_detail = target.global_region()
        if seen.get("health", ...) != healthy:
            seen["health"] = healthy
            word = HEALTH_WORDS[healthy]
            timeline.note(f"{region} marked {word} ({health_detail})")
        if seen.get("answer", ...) != answer:
            seen["answer"] = answer
            timeline.note(f"the global name answers from {answer} ({answer_detail})")
        if healthy is want_healthy and answer is not None and (answer == region) is answers_from_region:
            return timeline.clock() - timeline.start
        if timeline.clock() - started > deadline_s:
            raise DrillError(
                f"not within {deadline_s:.0f} s: {region} is marked {healthy}, the global name answers from {answer}"
            )
        writer.maybe_write()
        sleep(target.poll_s)


def run_drill(
    target: Target,
    region: str,
    out: TextIO = sys.stdout,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> DrillResult:
    """The whole drill on ``region``. The variable is put back whatever happens (an error,
    Ctrl-C), then the drill waits for the region to serve again (Ctrl-C again stops that
    wait, not the restore); an interrupt propagates after that."""
    check = target.http_check(region)
    bound = FailoverBound(check.interval_s, check.failure_threshold, target.scale)
    deadline = bound.total_s * DEADLINE_FACTOR + 60 * target.scale
    timeline = Timeline(clock, out=out)
    writer = Writer(target, timeline, every_s=max(0.1, check.interval_s * target.scale / 3))
    baseline = _baseline(target, region, timeline)
    client, function_name = target.health_function(region)
    forced = ForcedStatus(client, function_name, sleep)
    times: dict[str, float] = {}
    try:
        forced.set(DRILL_STATUS)
        timeline.note(f"break: STATUS={DRILL_STATUS} on {function_name} in {region}")
        times["broken"] = in_effect(target, region, timeline, False, deadline, sleep)
        times["failover"] = watch(target, region, timeline, writer, False, False, deadline, sleep)
        timeline.note(f"failed over: {region} is out of the global name")
    except (DrillError, ClientError, BotoCoreError, OSError) as err:  # reported; the restore below still runs
        timeline.note(f"error: {err}")
    finally:
        if forced.restore():
            timeline.note(f"restore: {function_name}'s variables are back as they were")
            _recover(target, region, timeline, writer, baseline == region, deadline, sleep, times)
        writer.cleanup()
    return _result(timeline, writer, bound, times)


def in_effect(
    target: Target, region: str, timeline: Timeline, healthy: bool, deadline_s: float, sleep: Callable[[float], None]
) -> float:
    """When the break (or the restore) is in effect: the region's own /health answers so. The
    bound counts from when a region starts failing, or passing, its health check
    (modules/failover.py), not from the API call that changes it; a target that does not probe
    (AWS: ForcedStatus waited for Lambda to apply the update) is in effect at once."""
    started = timeline.clock()
    while (seen := target.health_answers(region)) is not None:
        answers, detail = seen
        if answers is healthy:
            return timeline.note(f"{region}'s own /health answers {detail}: the change is in effect")
        if timeline.clock() - started > deadline_s:
            raise DrillError(f"not within {deadline_s:.0f} s: {region}'s own /health still answers {detail}")
        sleep(target.poll_s)
    return timeline.clock() - timeline.start


def _recover(
    target: Target,
    region: str,
    timeline: Timeline,
    writer: Writer,
    answers_again: bool,
    deadline: float,
    sleep: Callable[[float], None],
    times: dict[str, float],
) -> None:
    try:
        times["restored"] = in_effect(target, region, timeline, True, deadline, sleep)
        times["recovered"] = watch(target, region, timeline, writer, True, answers_again, deadline, sleep)
        timeline.note(f"recovered: {region} is healthy{' and answers again' if answers_again else ''}")
    except (DrillError, ClientError, BotoCoreError, OSError) as err:
        timeline.note(f"error: {err}")


def _baseline(target: Target, region: str, timeline: Timeline) -> str | None:
    answer, detail = target.global_region()
    timeline.note(f"baseline: the global name answers from {answer} ({detail})")
    for each in target.regions:
        healthy, health_detail = target.marked_healthy(each)
        timeline.note(f"baseline: {each} {'healthy' if healthy else 'NOT healthy'} ({health_detail})")
        if each == region and not healthy:
            raise DrillError(f"{region} is not healthy before the drill: nothing to fail over from")
    return answer


def _result(timeline: Timeline, writer: Writer, bound: FailoverBound, times: dict[str, float]) -> DrillResult:
    failover = times["failover"] - times["broken"] if {"failover", "broken"} <= times.keys() else None
    recovery = times["recovered"] - times["restored"] if {"recovered", "restored"} <= times.keys() else None
    ok = failover is not None and recovery is not None and failover <= bound.total_s and recovery <= bound.total_s
    lines = [f"{'+' + format(at, '.1f'):>9} s  {text}" for at, text in timeline.entries]
    summary = [
        writer.summary(times.get("failover")),
        f"bound: {bound.describe()}",
        f"failover {_seconds(failover)} s, recovery {_seconds(recovery)} s, bound {bound.total_s:.1f} s",
    ]
    return DrillResult(failover, recovery, bound.total_s, ok, "\n".join(lines + summary), "\n".join(summary))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


# --- evacuation ------------------------------------------------------------------------


def set_evacuated(target: Target, region: str, evacuated: bool) -> str:
    """Evacuate (threshold above the children) or restore (``routing_threshold`` of the
    children) the region's calculated check; says what it did. Idempotent."""
    route53, check_id = target.route53, target.routing_check_id(region)
    check = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]
    config = check["HealthCheckConfig"]
    if config["Type"] != "CALCULATED":
        raise DrillError(f"{region}'s routing check {check_id} is {config['Type']}, not CALCULATED")
    children = len(config.get("ChildHealthChecks") or [])
    if not children:
        raise DrillError(f"{region}'s routing check {check_id} has no children; expected the HTTP and alarm checks")
    wanted = children + 1 if evacuated else routing_threshold(children)
    current = config.get("HealthThreshold")
    action = "evacuated" if evacuated else "restored"
    if current == wanted:
        return f"{region} is already {action} (health check {check_id}: threshold {current} of {children} children)"
    if evacuated:
        _refuse_last_region(target, region)
    version = {"HealthCheckVersion": check["HealthCheckVersion"]} if "HealthCheckVersion" in check else {}
    # The children are sent unchanged: AWS keeps them when they are omitted, but moto's
    # UpdateHealthCheck then removes them.
    route53.update_health_check(
        HealthCheckId=check_id, HealthThreshold=wanted, ChildHealthChecks=config["ChildHealthChecks"], **version
    )
    return f"{region} {action}: health check {check_id} threshold {current} -> {wanted} of {children} children"


def _refuse_last_region(target: Target, region: str) -> None:
    """With every record unhealthy, Route53 answers with all of them: evacuating the last
    region would bring every evacuated one back."""
    remaining = []
    for other in target.regions:
        if other == region:
            continue
        config = target.route53.get_health_check(HealthCheckId=target.routing_check_id(other))["HealthCheck"][
            "HealthCheckConfig"
        ]
        if (config.get("HealthThreshold") or 0) <= len(config.get("ChildHealthChecks") or []):
            remaining.append(other)
    if not remaining:
        raise DrillError(
            f"refusing to evacuate {region}: it is the last region in DNS, and with every record "
            "unhealthy Route53 answers with all of them"
        )


# --- command line --------------------------------------------------------------------------


def confirm(
    config: EnvironmentConfig, action: str, yes: bool, ask: Callable[[str], str] | None = None, out: TextIO = sys.stdout
) -> None:
    """Protected environments: the environment's name must be typed (or --yes given);
    ``ask`` defaults to input()."""
    if not config.protected:
        return
    ask = ask or input
    if yes:
        print(f"{config.environment} is protected; --yes given: {action}", file=out, flush=True)
        return
    try:
        typed = ask(f"{config.environment} is protected. Type its name to {action}: ").strip()
    except EOFError:
        raise DrillError(
            f"{config.environment} is protected and there is no terminal to type its name on; "
            f"confirm with --yes (make drill ENV={config.environment} YES=1); nothing was changed"
        ) from None
    if typed != config.environment:
        raise DrillError(f"not confirmed (typed {typed!r}, expected {config.environment!r}); nothing was changed")


def target_for(config: EnvironmentConfig, args: argparse.Namespace) -> Target:
    if config.emulator:
        return LocalTarget(args.deployment)
    import boto3

    session = boto3.session.Session()
    return AwsTarget(
        config,
        _real_outputs(config, args.outputs),
        lambda service, region: session.client(service, region_name=region),
        client_subnet=args.client_subnet,
    )


def _real_outputs(config: EnvironmentConfig, outputs_file: Path | None) -> dict:
    """The environment's Terraform outputs: from a file (``terraform output -json``), or by
    synthesizing and reading its state with your credentials."""
    import json

    if outputs_file is not None:
        raw = json.loads(outputs_file.read_text())
        return {
            name: value.get("value", value) if isinstance(value, dict) and "value" in value else value
            for name, value in raw.items()
        }
    from ops import deploy
    from ops import terraform as tf

    log_dir = PROJECT_DIR / "build" / "logs"
    stack_dir = deploy.synth(config, PROJECT_DIR / "cdktf.out")
    env = tf.terraform_env(log_dir)
    deploy.init(stack_dir, env, log_dir)
    return deploy.outputs(stack_dir, env)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Failover drill, region evacuation and restore.")
    parser.add_argument("--env", default="local", help="environment (default: local, the emulator)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--region", help="the region to fail (default: the primary)")
    action.add_argument("--evacuate", metavar="REGION", help="take REGION out of DNS through Route53 alone")
    action.add_argument("--restore", metavar="REGION", help="put an evacuated REGION back into DNS")
    parser.add_argument("--yes", action="store_true", help="protected environments: do not ask")
    parser.add_argument(
        "--deployment",
        type=Path,
        default=PROJECT_DIR / ".emulator" / "deployment.json",
        help="the local environment's deployment file (default: .emulator/deployment.json)",
    )
    parser.add_argument("--outputs", type=Path, help="real environments: `terraform output -json` saved to a file")
    parser.add_argument("--client-subnet", help="real environments: EDNS0 client subnet for TestDNSAnswer")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from modules.config.loader import load_environments
    from modules.config.schema import ConfigError

    args = parse_arguments(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped like Ctrl-C: restore first
    try:
        (config,) = load_environments(PROJECT_DIR / "environments", [args.env])
        region = args.evacuate or args.restore or args.region or config.primary_region
        if region not in config.regions:
            raise DrillError(f"{region!r} is not a region of {config.environment} ({', '.join(config.regions)})")
        verb = "evacuate" if args.evacuate else "restore" if args.restore else "run a failover drill on"
        confirm(config, f"{verb} {region}", args.yes)
        target = target_for(config, args)
        if args.evacuate or args.restore:
            print(set_evacuated(target, region, bool(args.evacuate)))
            return 0
        print(f"failover drill: {config.environment}, {region}")
        result = run_drill(target, region)  # prints the timeline as it goes
    except (ConfigError, DrillError, ClientError, BotoCoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "interrupted: the health function's variables were put back; run the same command again to drill",
            file=sys.stderr,
        )
        return 130
    print(result.summary)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
