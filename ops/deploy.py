"""Deploy an environment end to end and prove it answers.

``local`` (the default, ``make deploy``): start the local issuer and the AWS API emulator (moto's
server, which evaluates IAM) on 127.0.0.1, synthesize ``backend-local``, apply the bootstrap stack's
roles for it, plan as the plan role and apply as the deploy role (``--as-root``: apply with the
emulator's root keys instead; ops/pipeline_roles.py), write
``.emulator/deployment.json``, serve each region through a local API Gateway that answers from
the deployed configuration (local/gateway.py; moto's API Gateway does not route
requests), replicate between the regions' tables (local/replicator.py; moto creates no
replicas), serve the global name like its Route53 records (local/router.py), smoke
check every region and the global URL, and print a summary with the measured replication
lag. Everything keeps running until ``make down``.

A real environment (``make deploy ENV=dev``): synthesize, ``terraform init`` with the
environment's backend, ``terraform plan`` with your AWS credentials, apply exactly that plan
(you confirm it unless AUTO_APPROVE=1), then the same smoke check against the real invoke URLs.

    python -m ops.deploy [--env local] [--auto-approve]
    python -m ops.deploy --down
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from local import deployment_file
from local import emulator as emu
from local import replicator as replicator_tool
from local import router as global_router
from modules.bootstrap.delivery import load_delivery
from modules.config.loader import load_environments
from modules.config.schema import ConfigError
from modules.failover import failover_bound
from ops import pipeline_roles
from ops import quota as quota_tool
from ops import smoke as smoke_tool
from ops import terraform as tf

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from modules.config.sections import EnvironmentConfig

PROJECT_DIR = Path(__file__).resolve().parent.parent

STATE_DIR = PROJECT_DIR / ".emulator"
# `make emulator`'s processes (the cdktf CLI route), apart from make deploy's.
CLI_STATE_DIR = ".emulator-cli"
# A resource still in progress after this long on the emulator will never finish: the
# slowest ones (waiting on Route53's fixed 15 s) take ~21 s.
EMULATOR_STUCK_AFTER = 60.0
# One request line of moto's (werkzeug's) access log: '"POST /2015-03-31/functions HTTP/1.1" 409 -'.
MOTO_REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)*([A-Z]+ \S+) HTTP/1\.[01](?:\x1b\[[0-9;]*m)*" (\d{3})')
# What each URL of the deployment file is, written into it (docs/local-stand-in.md, "The deployment file").
URL_BASES = {
    "api_url": "a region's execute-api base: the REST API with its stage in the path, e.g. <api_url>/items",
    "global_url": "the custom domain: its base path mapping on / serves the stage, so no stage in the path, "
    "e.g. <global_url>/items",
}
TIMEOUTS = {
    "synth": 300,
    "init": 300,
    "apply": 600,
    "plan": 300,
    "destroy": 600,
    "output": 60,
    "api": 30,
    "replicated": 30,
}


class DeployError(RuntimeError):
    pass


class Interrupted(Exception):
    """Ctrl-C during ``phase``: ``stopped`` names what was stopped on the way out."""

    def __init__(self, phase: str, stopped: list[str]) -> None:
        super().__init__(phase)
        self.phase, self.stopped = phase, stopped


def interrupted(err: KeyboardInterrupt, phase: str, state: emu.RunState | None = None) -> Interrupted:
    """Stop what the deployment started (Terraform's group is already stopped by tf.run),
    with further Ctrl-C ignored so the clean-up is not cut short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopped = [err.stopped] if isinstance(err, tf.TerraformInterrupted) else []
    if state is not None:
        stopped += stop_processes(state)
    return Interrupted(phase, stopped)


class Phase:
    """A running phase of a deployment; ``note`` prints an indented line under it."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def note(self, text: str) -> None:
        print(f"      {text}", file=self.out, flush=True)


class Progress:
    """A line when each phase starts (``[2/5] synth: backend-local ...``) and one when it ends."""

    def __init__(self, total: int, out: TextIO = sys.stdout) -> None:
        self.total, self.index, self.out = total, 0, out
        self.timings: dict[str, float] = {}
        self.current = "start-up"

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[Phase]:
        self.index += 1
        self.current = name.split(":")[0]
        started = time.monotonic()
        print(f"[{self.index}/{self.total}] {name} ...", file=self.out, flush=True)
        status = "FAILED"
        try:
            yield Phase(self.out)
            status = "done"
        finally:
            elapsed = time.monotonic() - started
            self.timings[name] = elapsed
            print(f"      {status} in {elapsed:.1f} s", file=self.out, flush=True)


@dataclass
class Deployment:
    config: EnvironmentConfig
    stack_dir: Path
    outputs: dict = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)  # region -> base URL with the stage
    global_url: str | None = None  # the local router (or the real global name)
    deployment_file: Path | None = None  # .emulator/deployment.json of a local deployment
    resource_count: int = 0
    checks: list = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    roles: dict[str, pipeline_roles.Role] = field(default_factory=dict)  # the pipeline's, with AS_ROLES
    role_requests: int = 0  # requests to the emulator while Terraform ran as the roles (each evaluated)


def load_config(name: str) -> EnvironmentConfig:
    try:
        (config,) = load_environments(PROJECT_DIR / "environments", [name])
    except ConfigError as err:
        raise DeployError(str(err)) from None
    return config


def synth(config: EnvironmentConfig, outdir: Path) -> Path:
    env = {**os.environ, "BACKEND_ENVIRONMENTS": config.environment, "CDKTF_OUTDIR": str(outdir)}
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "main.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUTS["synth"],
        cwd=PROJECT_DIR,
    )
    if result.returncode != 0:
        raise DeployError(f"synth failed:\n{result.stderr[-4000:]}")
    return outdir / "stacks" / config.stack_name


def emulator_env(state: emu.RunState, state_dir: Path) -> dict[str, str]:
    """Terraform's environment for the emulator: every AWS call goes to its loopback URL, and
    the stack's variable local_issuer_url names the local issuer (modules/stack.py)."""
    extra = {"AWS_ENDPOINT_URL": state.emulator_url}
    if state.issuer.get("url"):
        extra["TF_VAR_local_issuer_url"] = state.issuer["url"]
    return tf.terraform_env(state_dir, extra)


def start_issuer(config: EnvironmentConfig, state: emu.RunState, state_dir: Path, always: bool = False) -> None:
    """The local OpenID Connect issuer (local/issuer.py): fresh keys under
    ``.emulator/issuer/`` (0600), served on a free loopback port chosen now; Terraform then
    gives that URL to every region's authorizer. Nothing when the environment is public,
    unless ``always`` (it also stands in for GitHub's token issuer for the pipeline's roles)."""
    if config.auth.public and not always:
        return
    state_dir.mkdir(parents=True, exist_ok=True)
    from local import issuer as local_issuer

    key_dir = state_dir / "issuer"
    local_issuer.create_keys(key_dir)
    url = f"http://{emu.LOOPBACK}:{emu.free_port()}"
    proc = emu.spawn(
        [sys.executable, "-m", "local.issuer", "serve", "--dir", str(key_dir), "--issuer", url],
        state_dir / "issuer.log",
        {**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
    )
    state.issuer = {"pid": proc.pid, "url": url}
    state.save()
    emu.wait_for_http(url + local_issuer.DISCOVERY_PATH, TIMEOUTS["api"])


def local_auth(config: EnvironmentConfig, state: emu.RunState, state_dir: Path) -> dict | None:
    """The deployment file's ``auth``: what a client needs to get a token."""
    if not state.issuer.get("url"):
        return None
    return {
        "issuer": state.issuer["url"],
        "audience": config.auth.audience,
        "key_dir": str((state_dir / "issuer").resolve()),
        "token_command": "make -s token SCOPE='items:read items:write'",
    }


def create_zone(config: EnvironmentConfig, endpoint: str) -> None:
    """The hosted zone a real account would already own, created in the emulator."""
    import boto3

    if config.domain is None:
        return
    client = boto3.client(
        "route53",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    zones = client.list_hosted_zones_by_name(DNSName=config.domain.zone_name)["HostedZones"]
    if not any(zone["Name"].rstrip(".") == config.domain.zone_name for zone in zones):
        client.create_hosted_zone(Name=config.domain.zone_name, CallerReference=f"deploy-{time.time()}")


def create_boundary(config: EnvironmentConfig, stack_dir: Path, endpoint: str) -> None:
    """The permissions boundary every role of the stack carries, which the bootstrap stack makes
    in a real account (it derives no local environment), created in the emulator from the
    synthesized stack as the bootstrap derives it: the functions run as their roles, and the
    emulator evaluates each role within its boundary."""
    from modules.bootstrap.deploy_policy import DELIVERY_PATH, PolicyInputs, boundary_policy, permissions_boundary_name

    iam = emu.aws_client("iam", "us-east-1", endpoint)
    account = emu.aws_client("sts", "us-east-1", endpoint).get_caller_identity()["Account"]
    prefix = f"{config.project}-{config.environment}"
    doc = json.loads((stack_dir / "cdk.tf.json").read_text())
    document = boundary_policy(doc, PolicyInputs(prefix=prefix, environment=config.environment, account=account))
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_policy(
            PolicyName=permissions_boundary_name(prefix), Path=DELIVERY_PATH, PolicyDocument=json.dumps(document)
        )


class StuckResources:
    """Watches Terraform's progress lines (``<address>: Still creating... [1m10s elapsed]``)
    and says which resource has been in progress for longer than ``limit`` seconds."""

    # Terraform 1.x: "[10s elapsed]" while creating, "[id=abc, 1m10s elapsed]" once there is an id.
    PROGRESS = re.compile(
        r"^(\S+): Still (creating|modifying|destroying)\.\.\. \[(?:[^\]]*, )?(?:(\d+)h)?(?:(\d+)m)?(\d+)s elapsed\]"
    )
    DONE = re.compile(r"^(\S+): (Creation|Modifications|Destruction) complete")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.elapsed: dict[str, tuple[str, int]] = {}

    def see(self, line: str) -> None:
        if match := self.PROGRESS.match(line):
            address, action, hours, minutes, seconds = match.groups()
            self.elapsed[address] = (action, int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds))
        elif match := self.DONE.match(line):
            self.elapsed.pop(match.group(1), None)

    def stuck(self) -> str | None:
        late = {address: progress for address, progress in self.elapsed.items() if progress[1] >= self.limit}
        if not late:
            return None
        address, (action, seconds) = max(late.items(), key=lambda item: item[1][1])
        return f"{address} has been {action} for {seconds} s"


def emulator_errors(moto_log: Path, limit: int = 12) -> str:
    """The emulator's failed requests (status >= 400): a count per request line and status,
    then the last ``limit`` of them, so a stuck apply shows what the emulator answered."""
    if not moto_log.exists():
        return f"(no emulator log at {moto_log})"
    failed = []
    for line in moto_log.read_text(errors="replace").splitlines():
        match = MOTO_REQUEST.search(line)
        if match and int(match.group(2)) >= 400:
            failed.append((match.group(1), match.group(2), line))
    if not failed:
        return "(the emulator answered every request with a status below 400)"
    counts = Counter((request, status) for request, status, _ in failed)
    summary = [f"  {count:4d} x {status}  {request}" for (request, status), count in counts.most_common(8)]
    return "\n".join(
        [
            "failed requests by count:",
            *summary,
            f"last {min(limit, len(failed))}:",
            *(f"  {line}" for *_, line in failed[-limit:]),
        ]
    )


def emulator_requests(moto_log: Path) -> int:
    """How many requests the emulator has answered so far (its access log's request lines)."""
    if not moto_log.exists():
        return 0
    return sum(1 for line in moto_log.read_text(errors="replace").splitlines() if MOTO_REQUEST.search(line))


def apply(
    stack_dir: Path,
    env: dict[str, str],
    log_dir: Path,
    phase: Phase | None = None,
    stuck_after: float | None = None,
    emulator_log: Path | None = None,
    plan_file: Path | None = None,
) -> None:
    """terraform apply -auto-approve (the emulator), of ``plan_file`` when given. With
    ``stuck_after``, a resource still in progress after that many seconds stops the apply at
    once with the emulator's failed requests, instead of waiting out the provider's retry loops."""
    watch = StuckResources(stuck_after) if stuck_after else None
    log = log_dir / "terraform-apply.log"
    try:
        result = tf.run(
            ["apply", "-auto-approve", "-input=false", "-no-color", *([str(plan_file)] if plan_file else [])],
            stack_dir,
            env,
            TIMEOUTS["apply"],
            log,
            _progress_counter(phase, watch),
            watch.stuck if watch else None,
        )
    except tf.TerraformStopped as stopped:
        errors = emulator_errors(emulator_log) if emulator_log else ""
        raise DeployError(
            f"terraform apply stopped: {stopped} (on the emulator no resource takes more than "
            f"~25 s, so this one cannot finish; log: {log}).\n{errors}"
        ) from None
    if result.returncode != 0:
        raise DeployError(terraform_failure("apply", log, result.stdout))


def _progress_counter(phase: Phase | None, watch: StuckResources | None) -> Callable[[str], None]:
    """Terraform's output, line by line: feeds the watch and notes every 20 resources created."""
    created = 0

    def see(line: str) -> None:
        nonlocal created
        if watch is not None:
            watch.see(line)
        if "Creation complete" in line:
            created += 1
            if phase is not None and created % 20 == 0:
                phase.note(f"{created} resources created")

    return see


def plan_and_apply(
    stack_dir: Path,
    env: dict[str, str],
    log_dir: Path,
    phase: Phase,
    auto_approve: bool,
    confirm: Callable[[str], str] = input,
) -> None:
    """A real environment: ``terraform plan -out``, shown for approval unless
    ``auto_approve``, then ``terraform apply`` of exactly that plan. Each step has its own
    log, and a failure names the step, its log and Terraform's error."""
    plan_file = (log_dir / f"{stack_dir.name}.tfplan").resolve()
    plan_log = log_dir / "terraform-plan.log"
    planned = tf.run(
        ["plan", "-input=false", "-no-color", f"-out={plan_file}"], stack_dir, env, TIMEOUTS["plan"], plan_log
    )
    if planned.returncode != 0:
        raise DeployError(terraform_failure("plan", plan_log, planned.stdout))
    if not auto_approve:
        print(planned.stdout, flush=True)
        if confirm("Apply this plan? Only 'yes' applies it: ").strip() != "yes":
            raise DeployError(f"not applied: the plan was not approved (it is kept in {plan_file})")
    apply_log = log_dir / "terraform-apply.log"
    applied = tf.run(
        ["apply", "-input=false", "-no-color", str(plan_file)],
        stack_dir,
        env,
        TIMEOUTS["apply"],
        apply_log,
        _progress_counter(phase, None),
    )
    if applied.returncode != 0:
        raise DeployError(terraform_failure("apply", apply_log, applied.stdout))


def terraform_failure(step: str, log: Path, output: str) -> str:
    """``terraform <step> failed (log: ...)`` and Terraform's error blocks (the whole tail
    when it printed no ``Error:``)."""
    lines = (output or "").rstrip().splitlines()
    first_error = next((index for index, line in enumerate(lines) if line.lstrip("│ ").startswith("Error:")), None)
    cause = lines[first_error:] if first_error is not None else lines[-40:]
    text = "\n".join(cause)[-4000:] or "(terraform printed nothing)"
    denied = pipeline_roles.refused(output or "")
    return f"terraform {step} failed{f': {denied}' if denied else ''} (log: {log}):\n{text}"


def outputs(stack_dir: Path, env: dict[str, str]) -> dict:
    result = tf.run(["output", "-json", "-no-color"], stack_dir, env, TIMEOUTS["output"])
    if result.returncode != 0:
        raise DeployError(f"terraform output failed:\n{result.stdout[-2000:]}")
    return {name: output["value"] for name, output in json.loads(result.stdout).items()}


def resource_count(stack_dir: Path, env: dict[str, str]) -> int:
    result = tf.run(["state", "list"], stack_dir, env, TIMEOUTS["output"])
    return len([line for line in result.stdout.splitlines() if line.strip() and not line.startswith("data.")])


def write_deployment_file(
    outputs: dict,
    state: emu.RunState,
    stack_dir: Path,
    state_dir: Path,
    config: EnvironmentConfig,
    auth: dict | None = None,
) -> deployment_file.Deployment:
    """``.emulator/deployment.json`` from Terraform's outputs, with a free loopback port
    chosen for each region's gateway and for the global router (docs/local-stand-in.md, "The deployment file")."""
    account_id = emu.aws_client("sts", "us-east-1", state.emulator_url).get_caller_identity()["Account"]
    regions = {
        region: {
            "api_url": f"http://{emu.LOOPBACK}:{emu.free_port()}/{served['stage']}",
            "rest_api_id": served["rest_api_id"],
            "stage": served["stage"],
            "functions": served["functions"],
            "health_check_id": served["health_check_id"],
            "routing_health_check_id": served["routing_health_check_id"],
            "alarm_check": served["alarm_check"],
            "guard_checks": served.get("guard_checks", []),
        }
        for region, served in outputs["regions"].items()
    }
    more = {
        "table_name": outputs["table_name"],
        "latency_order": list(config.regions),
        "time_scale": global_router.time_scale(),
        "auth": auth,
        "url_bases": URL_BASES if config.domain is not None else {"api_url": URL_BASES["api_url"]},
    }
    if config.domain is not None:
        more["global_url"] = f"http://{emu.LOOPBACK}:{emu.free_port()}"
        more["dns"] = {"zone_name": config.domain.zone_name, "record_name": config.domain.record_name}
    deployment = deployment_file.build(state.emulator_url, account_id, stack_dir.resolve(), regions, **more)
    return deployment_file.write(state_dir / "deployment.json", deployment)


def spawn_component(module: str, state_dir: Path, log_name: str, *args: str) -> subprocess.Popen:
    """``python -m local.<module> --deployment <state_dir>/deployment.json [args]`` in a session
    of its own, its output in ``state_dir/log_name``."""
    return emu.spawn(
        [sys.executable, "-m", f"local.{module}", "--deployment", str(state_dir / "deployment.json"), *args],
        state_dir / log_name,
        {**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
    )


def start_gateways(deployment: deployment_file.Deployment, state: emu.RunState, state_dir: Path) -> dict[str, str]:
    """One local API Gateway process per region, serving what the emulator holds; returns
    region -> base URL (with the stage) once each one accepts connections."""
    for region in deployment.regions:
        proc = spawn_component("gateway", state_dir, f"gateway-{region}.log", "--region", region)
        state.apis[region] = {"pid": proc.pid, "url": deployment.regions[region].api_url}
        state.save()
    for region, served in deployment.regions.items():
        if not emu.wait_for_port(served.api_url, TIMEOUTS["api"]):
            raise DeployError(
                f"the local gateway for {region} did not start; see {state_dir / f'gateway-{region}.log'}"
            )
    return {region: served.api_url for region, served in deployment.regions.items()}


def start_replicator(deployment: deployment_file.Deployment, state: emu.RunState, state_dir: Path) -> None:
    """local/replicator.py, then wait until the health sentinel Terraform wrote in the
    primary has reached every region (the health check of every region needs it)."""
    proc = spawn_component("replicator", state_dir, "replicator.log")
    state.processes["replicator"] = {"pid": proc.pid}
    state.save()
    from functions.schema import HEALTH_SENTINEL_ID, PARTITION_KEY

    deadline = time.monotonic() + TIMEOUTS["replicated"]
    table = deployment.needed(deployment.table_name, "table_name", "the replicator")
    for region in deployment.regions:
        client = emu.aws_client("dynamodb", region, state.emulator_url)
        key = {PARTITION_KEY: {"S": HEALTH_SENTINEL_ID}}
        while "Item" not in client.get_item(TableName=table, Key=key, ConsistentRead=True):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise DeployError(
                    f"the replicator did not copy the health sentinel to {region}; see {state_dir / 'replicator.log'}"
                )
            time.sleep(0.1)


def start_alarm_evaluator(state: emu.RunState, state_dir: Path) -> None:
    """local/alarm_evaluator.py: the states of the deployed alarms whose metrics a local
    component publishes (moto evaluates none); ``down`` stops it with the others."""
    proc = spawn_component("alarm_evaluator", state_dir, "alarm-evaluator.log")
    state.processes["alarm_evaluator"] = {"pid": proc.pid}
    state.save()


def start_router(deployment: deployment_file.Deployment, state: emu.RunState, state_dir: Path) -> str:
    """local/router.py on the deployment's global URL, once it answers."""
    global_url = deployment.needed(deployment.global_url, "global_url", "the global router")
    proc = spawn_component("router", state_dir, "router.log")
    state.processes["router"] = {"pid": proc.pid, "url": global_url}
    state.save()
    if not emu.wait_for_port(global_url, TIMEOUTS["api"]):
        raise DeployError(f"the global router did not start; see {state_dir / 'router.log'}")
    return global_url


def down(
    state_dir: Path = STATE_DIR, tf_state: Path | None = None, quiet: bool = False, also_stopped: tuple[str, ...] = ()
) -> list[str]:
    """Stop everything a local deployment started and remove its state."""
    stopped = [*also_stopped, *stop_processes(emu.RunState.load(state_dir / "state.json"))]
    if state_dir.exists():
        shutil.rmtree(state_dir)
    if tf_state is not None:
        for path in tf_state.parent.glob(tf_state.name + "*"):
            path.unlink()
    if not quiet:
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return stopped


def deploy_local(
    config: EnvironmentConfig, outdir: Path, state_dir: Path, out: TextIO = sys.stdout, as_roles: bool = False
) -> Deployment:
    """Emulator up, synth, apply, local gateways, smoke. With ``as_roles``, the bootstrap stack
    is applied first and Terraform plans as the pipeline's plan role and applies as its deploy
    role (ops/pipeline_roles.py). Leaves everything running for the user (``down`` stops it);
    on failure stops what it started and keeps the logs."""
    started = time.monotonic()
    progress = Progress(total=6 if as_roles else 5, out=out)
    state = emu.RunState(state_dir / "state.json")
    try:
        if as_roles:  # the emulator learns the issuer standing in for GitHub's when it starts
            start_issuer(config, state, state_dir, always=True)
        with progress.phase("emulator: moto server on 127.0.0.1") as phase:
            proc, port = emu.start_emulator(state_dir, extra_env=github_issuers(state) if as_roles else None)
            state.emulator_pid, state.emulator_port = proc.pid, port
            state.save()
            phase.note(f"{state.emulator_url} (log: {state_dir / 'moto.log'})")
        with progress.phase(f"synth: {config.stack_name}"):
            deployment = Deployment(config=config, stack_dir=synth(config, outdir))
        if not as_roles:
            start_issuer(config, state, state_dir)
        apply_local(deployment, state, state_dir, progress, as_roles)
        with progress.phase("serve: a gateway per region, replication, the global router") as phase:
            served = serve_local(deployment, state, state_dir, phase)
        with progress.phase("smoke: every region, replication between them, the global URL"):
            deployment.checks = smoke_tool.smoke(
                deployment.urls,
                token=smoke_tool.smoke_token(served),
                global_url=deployment.global_url,
                replication_bound_s=replicator_tool.LAG_BOUND_S,
            )
    except KeyboardInterrupt as err:
        raise interrupted(err, progress.current, state) from None
    except BaseException:
        stop_processes(state)
        raise
    deployment.timings = {**progress.timings, "total": time.monotonic() - started}
    return deployment


def github_issuers(state: emu.RunState) -> dict[str, str]:
    """The emulator's LOCAL_OIDC_ISSUERS: the local issuer's keys verify tokens that name GitHub's."""
    from local import issuer as local_issuer

    return {"LOCAL_OIDC_ISSUERS": f"{local_issuer.GITHUB_ISSUER}={state.issuer['url']}{local_issuer.JWKS_PATH}"}


def apply_local(
    deployment: Deployment, state: emu.RunState, state_dir: Path, progress: Progress, as_roles: bool
) -> None:
    """The apply phase (with the emulator's root keys, or as the pipeline's roles), then the outputs."""
    config, env = deployment.config, emulator_env(state, state_dir)
    if as_roles:
        with progress.phase("bootstrap: the pipeline's roles in the emulator (root keys)") as phase:
            create_zone(config, state.emulator_url)
            roles = deployment.roles = bootstrap_local(deployment, env, state_dir)
            phase.note(", ".join(role.arn for role in roles.values()))
    title = "apply as the pipeline's roles (the plan role plans, the deploy role applies)" if as_roles else "apply"
    with progress.phase(f"{title}: {len(config.regions)} regions with Terraform") as phase:
        if as_roles:
            before = emulator_requests(state_dir / "moto.log")
            env = role_env(roles["plan"], state, state_dir)
            init(deployment.stack_dir, env, state_dir)
            plan_file = plan(deployment.stack_dir, env, state_dir)
            env = role_env(roles["deploy"], state, state_dir)
            apply(deployment.stack_dir, env, state_dir, phase, EMULATOR_STUCK_AFTER, state_dir / "moto.log", plan_file)
            deployment.role_requests = emulator_requests(state_dir / "moto.log") - before
            phase.note(f"{deployment.role_requests} requests as the roles, each evaluated by the emulator")
        else:
            create_zone(config, state.emulator_url)
            # The boundary every role names (the bootstrap makes it in role runs).
            create_boundary(config, deployment.stack_dir, state.emulator_url)
            init(deployment.stack_dir, env, state_dir)
            apply(deployment.stack_dir, env, state_dir, phase, EMULATOR_STUCK_AFTER, state_dir / "moto.log")
        deployment.resource_count = resource_count(deployment.stack_dir, env)
        phase.note(f"{deployment.resource_count} resources")
    deployment.outputs = outputs(deployment.stack_dir, env)


def bootstrap_local(deployment: Deployment, env: dict[str, str], state_dir: Path) -> dict[str, pipeline_roles.Role]:
    """The bootstrap stack of this environment alone, applied with the root keys (its state in
    ``.emulator/bootstrap/``); returns its plan and deploy roles."""
    root = state_dir / "bootstrap"
    stack_json = deployment.stack_dir / "cdk.tf.json"
    try:
        stack_dir = pipeline_roles.synth_bootstrap(deployment.config.environment, stack_json, root)
    except RuntimeError as err:
        raise DeployError(str(err)) from None
    init(stack_dir, env, root)
    apply(stack_dir, env, root)
    return pipeline_roles.roles(outputs(stack_dir, env), deployment.config.environment)


def role_env(role: pipeline_roles.Role, state: emu.RunState, state_dir: Path) -> dict[str, str]:
    """Terraform's environment as ``role``, with a fresh token of delivery.toml's repository."""
    repository = load_delivery(PROJECT_DIR / "delivery.toml").github_repository
    key_dir = state_dir / "issuer"
    extra = pipeline_roles.role_env(role, key_dir, repository, state_dir / "tokens", state.emulator_url)
    extra["TF_VAR_local_issuer_url"] = state.issuer["url"]
    return tf.terraform_env(state_dir, extra)


def plan(stack_dir: Path, env: dict[str, str], log_dir: Path) -> Path:
    """``terraform plan -out`` (refresh included); returns the plan file."""
    plan_file = (log_dir / f"{stack_dir.name}.tfplan").resolve()
    log = log_dir / "terraform-plan.log"
    result = tf.run(["plan", "-input=false", "-no-color", f"-out={plan_file}"], stack_dir, env, TIMEOUTS["plan"], log)
    if result.returncode != 0:
        raise DeployError(terraform_failure("plan", log, result.stdout))
    return plan_file


def serve_local(
    deployment: Deployment, state: emu.RunState, state_dir: Path, phase: Phase
) -> deployment_file.Deployment:
    """The deployment file, a gateway per region, the replicator, and the global router;
    returns what the deployment file says."""
    served = write_deployment_file(
        deployment.outputs,
        state,
        deployment.stack_dir,
        state_dir,
        deployment.config,
        local_auth(deployment.config, state, state_dir),
    )
    deployment.deployment_file = state_dir / "deployment.json"
    phase.note(f"deployment file: {deployment.deployment_file}")
    deployment.urls = start_gateways(served, state, state_dir)
    for region, url in deployment.urls.items():
        phase.note(f"{region}: {url}")
    start_replicator(served, state, state_dir)
    phase.note(f"replicator: every region's stream (log: {state_dir / 'replicator.log'})")
    start_alarm_evaluator(state, state_dir)
    phase.note(f"alarm evaluator: the replication alarms (log: {state_dir / 'alarm-evaluator.log'})")
    if served.global_url is not None:
        deployment.global_url = start_router(served, state, state_dir)
        phase.note(f"global URL: {deployment.global_url} (TIME_SCALE {served.time_scale:g})")
    return served


def require_credentials(config: EnvironmentConfig) -> None:
    """A real environment needs AWS credentials; without any, say so before synth and
    Terraform run, and point to the environment that needs none."""
    import boto3

    if boto3.session.Session().get_credentials() is None:
        raise DeployError(
            f"no AWS credentials found: {config.stack_name} deploys to your AWS account "
            "(set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). To try the project "
            "without an AWS account, deploy the local environment to the emulator: `make deploy` (ENV=local)"
        )


def check_lambda_quota(
    config: EnvironmentConfig, client_for: Callable[[str], Any] | None = None, out: TextIO = sys.stdout
) -> None:
    """Stop before Terraform when a region's Lambda concurrency quota cannot hold the
    environment's reservations (ops/quota.py), with the numbers; print them otherwise.
    ``client_for(region)``: a Lambda client (default: boto3's, with the user's credentials)."""
    if client_for is None:
        import boto3

        client_for = lambda region: boto3.client("lambda", region_name=region)  # noqa: E731
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        for region in quota_tool.require_lambda_concurrency(config, client_for):
            print(f"  {region.describe(config.stack_name)}", file=out, flush=True)
    except quota_tool.QuotaError as err:
        raise DeployError(str(err)) from err
    except (BotoCoreError, ClientError) as err:
        raise DeployError(f"cannot read the Lambda concurrency quota (lambda:GetAccountSettings): {err}") from err


def deploy_real(
    config: EnvironmentConfig,
    outdir: Path,
    log_dir: Path,
    auto_approve: bool,
    out: TextIO = sys.stdout,
    lambda_client_for: Callable[[str], Any] | None = None,
) -> Deployment:
    """Check the Lambda concurrency quota, synth, init with the environment's backend, plan
    and apply with the user's credentials, smoke. ``lambda_client_for``: see
    ``check_lambda_quota``."""
    started = time.monotonic()
    progress = Progress(total=4, out=out)
    try:
        with progress.phase("quota: Lambda concurrency in every region, before Terraform"):
            check_lambda_quota(config, lambda_client_for, out)
        with progress.phase(f"synth: {config.stack_name}"):
            deployment = Deployment(config=config, stack_dir=synth(config, outdir))
        env = tf.terraform_env(log_dir)
        with progress.phase(
            f"plan and apply: {len(config.regions)} regions with Terraform (your AWS credentials)"
        ) as phase:
            init(deployment.stack_dir, env, log_dir)
            plan_and_apply(deployment.stack_dir, env, log_dir, phase, auto_approve)
            deployment.resource_count = resource_count(deployment.stack_dir, env)
        deployment.outputs = outputs(deployment.stack_dir, env)
    except KeyboardInterrupt as err:
        raise interrupted(err, progress.current) from None
    deployment.urls = {region: value["invoke_url"] for region, value in deployment.outputs["regions"].items()}
    deployment.global_url = deployment.outputs.get("global_url") or None
    with progress.phase("smoke: every region, replication between them, the global URL"):
        deployment.checks = smoke_tool.smoke(
            deployment.urls,
            token=smoke_tool.smoke_token(None),
            global_url=deployment.global_url,
            replication_bound_s=smoke_tool.REAL_REPLICATION_WAIT_S,
        )
    deployment.timings = {**progress.timings, "total": time.monotonic() - started}
    return deployment


def init(stack_dir: Path, env: dict[str, str], log_dir: Path) -> None:
    log = log_dir / "terraform-init.log"
    result = tf.run(["init", "-input=false", "-no-color"], stack_dir, env, TIMEOUTS["init"], log)
    if result.returncode != 0:
        raise DeployError(terraform_failure("init", log, result.stdout))


def stop_processes(state: emu.RunState) -> list[str]:
    """Stop the router, the replicator, the local gateways, the issuer and the emulator, all
    at once (one after another took 11-12 s); say which were still running."""
    named = {f"{name} (pid {process['pid']})": process["pid"] for name, process in state.processes.items()}
    named |= {f"local gateway {region} (pid {api['pid']})": api["pid"] for region, api in state.apis.items()}
    if state.issuer.get("pid"):
        named[f"local issuer (pid {state.issuer['pid']})"] = state.issuer["pid"]
    if state.emulator_pid:
        named[f"emulator (pid {state.emulator_pid}, port {state.emulator_port})"] = state.emulator_pid
    named = {label: pid for label, pid in named.items() if pid}
    if not named:
        return []
    with ThreadPoolExecutor(max_workers=len(named)) as pool:
        was_running = list(pool.map(emu.stop_pid, named.values()))
    return [label for label, ran in zip(named, was_running, strict=True) if ran]


def summary(deployment: Deployment) -> str:
    config, outputs_ = deployment.config, deployment.outputs
    passed = sum(check.ok for check in deployment.checks)
    lines = [
        "",
        f"{config.stack_name}: {'emulated on 127.0.0.1' if config.emulator else 'deployed to AWS'}",
        f"  regions      {', '.join(config.regions)} (primary {config.primary_region}, {config.routing.mode} routing)",
        f"  resources    {deployment.resource_count} in Terraform state",
        f"  table        {outputs_.get('table_name')}",
        f"  replication  {outputs_.get('replication')}",
        f"               {smoke_tool.lag_summary(deployment.checks)}",
    ]
    for region in config.regions:
        lines.append(f"  {region:<12} {deployment.urls.get(region, '')}")
        invoke = outputs_.get("regions", {}).get(region, {}).get("invoke_url")
        if config.emulator and invoke:
            lines.append(f"  {'':<12} (in the emulator: {invoke})")
    if deployment.deployment_file:
        lines.append(f"  deployment   {deployment.deployment_file}")
    if deployment.global_url and config.emulator:
        lines.append(
            f"  global URL   {deployment.global_url} (answers like {outputs_.get('global_url')}'s "
            f"{config.routing.mode} records; response header {global_router.SERVED_BY_HEADER})"
        )
    elif outputs_.get("global_url"):
        lines.append(f"  global URL   {outputs_['global_url']}")
    lines.append(f"  failover     {failover_bound(config.health_check).describe()}")
    lines.append(f"  checked      {passed}/{len(deployment.checks)} smoke checks passed:")
    lines.append(smoke_tool.format_checks(deployment.checks))
    timing = ", ".join(f"{name.split(':')[0]} {seconds:.1f} s" for name, seconds in deployment.timings.items())
    lines.append(f"  time         {timing}")
    if config.emulator:
        lines.append("  stop it all  make down")
    return "\n".join(lines)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Deploy an environment and smoke-check every region.")
    parser.add_argument("--env", default="local", help="environment name (default: local, the emulator)")
    parser.add_argument("--auto-approve", action="store_true", help="real environments: apply without asking")
    parser.add_argument("--down", action="store_true", help="stop the local deployment and remove its state")
    parser.add_argument(
        "--root",
        type=Path,
        default=PROJECT_DIR,
        help="local: where .emulator/, cdktf.out/ and the local state go (default: the project)",
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="local: start the emulator and the issuer for the cdktf CLI and print the exports it needs",
    )
    parser.add_argument("--replace", action="store_true", help="local: replace a running deployment (its data is lost)")
    parser.add_argument(
        "--as-root",
        dest="as_roles",
        action="store_false",
        help="local: apply with the emulator's root keys (no IAM evaluated) instead of as the pipeline's roles "
        "(by default the bootstrap stack is applied first, then Terraform plans as its plan role and applies "
        "as its deploy role)",
    )
    return parser.parse_args(argv)


def refuse_running(state_dir: Path, cli_dir: Path) -> None:
    """A second ``make deploy`` would start a fresh emulator: new ports, every item gone.
    Refuse while the first one runs, unless asked to replace it; and while the cdktf CLI
    route's emulator runs, whose Terraform state is the same file."""
    state = emu.RunState.load(state_dir / "state.json")
    if state.emulator_pid and emu.pid_alive(state.emulator_pid):
        router = state.processes.get("router", {}).get("url")
        raise DeployError(
            f"a local deployment is already running (emulator pid {state.emulator_pid}"
            f"{f', global URL {router}' if router else ''}; {state_dir / 'deployment.json'}). "
            "Deploying again would replace it with a fresh emulator: new ports, every item gone. "
            "Keep using it, stop it with `make down`, or replace it with `make deploy REPLACE=1`"
        )
    cli = emu.RunState.load(cli_dir / "state.json")
    if cli.emulator_pid and emu.pid_alive(cli.emulator_pid):
        raise DeployError(
            f"the cdktf CLI route's emulator is running (`make emulator`, pid {cli.emulator_pid}, "
            f"{cli.emulator_url}); its Terraform state is the same file as make deploy's. "
            "Stop it with `make down` first, or replace it with `make deploy REPLACE=1`"
        )


def serve_emulator(config: EnvironmentConfig, root: Path, out: TextIO = sys.stdout) -> list[str]:
    """``make emulator``: the project's emulator server and the local issuer for the cdktf CLI
    route, the hosted zone created, and the exports the CLI needs printed on ``out`` (notes
    on stderr). Its processes are recorded in ``.emulator-cli/`` (``make down`` stops them).
    Refused while ``make deploy``'s deployment runs: both use ``state/<stack>.tfstate``."""
    running = emu.RunState.load(root / ".emulator" / "state.json")
    if running.emulator_pid and emu.pid_alive(running.emulator_pid):
        raise DeployError(
            f"make deploy's local deployment is running (emulator pid {running.emulator_pid}) and the "
            f"cdktf CLI would apply to the same Terraform state ({config.state.path}): stop it with "
            "`make down` first"
        )
    cli_dir = root / CLI_STATE_DIR
    down(cli_dir, root / config.state.path, quiet=True)  # a fresh emulator has none of the old state
    state = emu.RunState(cli_dir / "state.json")
    try:
        proc, port = emu.start_emulator(cli_dir)
        state.emulator_pid, state.emulator_port = proc.pid, port
        state.save()
        start_issuer(config, state, cli_dir)
        create_zone(config, state.emulator_url)
    except KeyboardInterrupt as err:
        raise interrupted(err, "emulator", state) from None
    except BaseException:
        stop_processes(state)
        raise
    return print_exports(config, state, root, out)


def print_exports(config: EnvironmentConfig, state: emu.RunState, root: Path, out: TextIO) -> list[str]:
    """``export NAME=value`` lines for ``eval "$(make -s emulator)"``; a note on stderr.
    ``BACKEND_ENVIRONMENTS`` makes each cdktf CLI call synthesize this environment only, not all."""
    exports = {
        "AWS_ENDPOINT_URL": state.emulator_url,
        **tf.EMULATOR_ROOT_KEYS,
        "CHECKPOINT_DISABLE": "1",
        "BACKEND_ENVIRONMENTS": config.environment,
    }
    if state.issuer.get("url"):
        exports["TF_VAR_local_issuer_url"] = state.issuer["url"]
    if config_file := tf.cli_config(root / "build"):
        exports["TF_CLI_CONFIG_FILE"] = str(config_file)
    lines = [f"export {name}={value}" for name, value in exports.items()]
    print("\n".join(lines), file=out, flush=True)
    zone = config.domain.zone_name if config.domain else "none"
    print(
        f"# emulator {state.emulator_url} (pid {state.emulator_pid}), hosted zone {zone}; "
        f"`npx cdktf diff|deploy|destroy {config.stack_name}` apply to it; `make down` stops it",
        file=sys.stderr,
    )
    return lines


def resume_hint(args: argparse.Namespace) -> str:
    if args.down:
        return "make down finished first, so nothing is left running"
    return f"run `make deploy{'' if args.env == 'local' else f' ENV={args.env}'}` to start again"


def report_interrupt(err: Interrupted, args: argparse.Namespace, tf_state: Path | None) -> int:
    """One line: the phase, what was stopped, the stale lock removed, how to resume; 130."""
    stopped = ", ".join(err.stopped) or "nothing was running"
    lock = ""
    if tf_state is not None and tf.release_local_lock(tf_state):
        lock = f"; removed the stale state lock {tf.local_lock_file(tf_state)}"
    print(f"interrupted during {err.phase}: stopped {stopped}{lock}; {resume_hint(args)}", file=sys.stderr)
    return 130


def down_all(args: argparse.Namespace, root: Path, tf_state: Path | None) -> int:
    """``make down``: what ``make deploy`` and ``make emulator`` started. A Ctrl-C does not cut
    it short (it takes under 3 s): it finishes, then says so in one line and exits 130."""
    interrupts: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: interrupts.append(signum))
    try:
        stopped = down(root / CLI_STATE_DIR, None, quiet=True)
        stopped = down(root / ".emulator", tf_state, quiet=True, also_stopped=tuple(stopped))
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupts:
        return report_interrupt(Interrupted("down", stopped), args, None)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    root = args.root.resolve()
    state_dir, outdir = root / ".emulator", root / "cdktf.out"
    tf_state: Path | None = None
    try:
        config = load_config(args.env)
        tf_state = root / config.state.path if config.state.backend == "local" else None
        if args.down:
            return down_all(args, root, tf_state)
        if args.emulator:
            serve_emulator(config, root)
            return 0
        if config.emulator:
            if not args.replace:
                refuse_running(state_dir, root / CLI_STATE_DIR)
            down(root / CLI_STATE_DIR, None, quiet=True)
            down(state_dir, tf_state, quiet=True)  # a fresh emulator has none of the old state
            deployment = deploy_local(config, outdir, state_dir, as_roles=args.as_roles)
        else:
            require_credentials(config)
            deployment = deploy_real(config, outdir, root / "build" / "logs", args.auto_approve)
    except Interrupted as err:
        return report_interrupt(err, args, tf_state)
    except KeyboardInterrupt:
        return report_interrupt(Interrupted("start-up", []), args, tf_state)
    except (DeployError, TimeoutError, FileNotFoundError, subprocess.TimeoutExpired) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(summary(deployment))
    return 0 if all(check.ok for check in deployment.checks) and deployment.checks else 1


if __name__ == "__main__":
    sys.exit(main())
