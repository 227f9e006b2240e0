"""Deploy an environment end to end and prove it answers.

``local`` (the default, ``make deploy``): start the AWS API emulator (moto's server) on
127.0.0.1, synthesize ``backend-local``, apply it with Terraform against the emulator, serve
the real handlers per region on loopback (moto's API Gateway does not route requests), smoke
check every region and print a summary. Everything keeps running until ``make down``.

A real environment (``make deploy ENV=dev``): synthesize, ``terraform init`` with the
environment's backend, ``terraform apply`` with your AWS credentials (you confirm the plan
unless AUTO_APPROVE=1), then the same smoke check against the real invoke URLs.

    python -m tools.deploy [--env local] [--auto-approve]
    python -m tools.deploy --down
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from modules.config import ConfigError, EnvironmentConfig, load_environments  # noqa: E402
from tools import emulator as emu  # noqa: E402
from tools import smoke as smoke_tool  # noqa: E402
from tools import terraform as tf  # noqa: E402

STATE_DIR = PROJECT_DIR / ".emulator"
# A resource still in progress after this long on the emulator will never finish: the
# slowest ones (waiting on Route53's fixed 15 s) take ~21 s.
EMULATOR_STUCK_AFTER = 60.0
# One request line of moto's (werkzeug's) access log: '"POST /2015-03-31/functions HTTP/1.1" 409 -'.
MOTO_REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)*([A-Z]+ \S+) HTTP/1\.[01](?:\x1b\[[0-9;]*m)*" (\d{3})')
TIMEOUTS = {"synth": 300, "init": 300, "apply": 600, "plan": 300, "destroy": 600, "output": 60, "api": 30}


class DeployError(RuntimeError):
    pass


class Progress:
    """A line when each phase starts (``[2/5] synth: backend-local ...``) and one when it ends."""

    def __init__(self, total: int, out=sys.stdout) -> None:
        self.total, self.index, self.out = total, 0, out
        self.timings: dict[str, float] = {}

    def phase(self, name: str):
        progress = self

        class _Phase:
            def __enter__(self):
                progress.index += 1
                self.started = time.monotonic()
                print(f"[{progress.index}/{progress.total}] {name} ...", file=progress.out, flush=True)
                return self

            def note(self, text: str) -> None:
                print(f"      {text}", file=progress.out, flush=True)

            def __exit__(self, exc_type, exc, tb):
                elapsed = time.monotonic() - self.started
                progress.timings[name] = elapsed
                status = "done" if exc_type is None else "FAILED"
                print(f"      {status} in {elapsed:.1f} s", file=progress.out, flush=True)
                return False

        return _Phase()


@dataclass
class Deployment:
    config: EnvironmentConfig
    stack_dir: Path
    outputs: dict = field(default_factory=dict)
    local_urls: dict[str, str] = field(default_factory=dict)
    resource_count: int = 0
    checks: list = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def load_config(name: str) -> EnvironmentConfig:
    try:
        (config,) = load_environments(PROJECT_DIR / "environments", [name])
    except ConfigError as err:
        raise DeployError(str(err)) from None
    return config


def synth(config: EnvironmentConfig, outdir: Path) -> Path:
    env = {**os.environ, "BACKEND_ENVIRONMENTS": config.environment, "CDKTF_OUTDIR": str(outdir)}
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "main.py")], env=env, capture_output=True, text=True,
        timeout=TIMEOUTS["synth"], cwd=PROJECT_DIR,
    )
    if result.returncode != 0:
        raise DeployError(f"synth failed:\n{result.stderr[-4000:]}")
    return outdir / "stacks" / config.stack_name


def emulator_env(state: emu.RunState, state_dir: Path) -> dict[str, str]:
    """Terraform's environment for the emulator: every AWS call goes to its loopback URL."""
    return tf.terraform_env(state_dir, {"AWS_ENDPOINT_URL": state.emulator_url})


def create_zone(config: EnvironmentConfig, endpoint: str) -> None:
    """The hosted zone a real account would already own, created in the emulator."""
    import boto3

    if config.domain is None:
        return
    client = boto3.client(
        "route53", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )
    zones = client.list_hosted_zones_by_name(DNSName=config.domain.zone_name)["HostedZones"]
    if not any(z["Name"].rstrip(".") == config.domain.zone_name for z in zones):
        client.create_hosted_zone(Name=config.domain.zone_name, CallerReference=f"deploy-{time.time()}")


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
        late = {a: v for a, v in self.elapsed.items() if v[1] >= self.limit}
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
    summary = [f"  {n:4d} x {status}  {request}" for (request, status), n in counts.most_common(8)]
    return "\n".join(["failed requests by count:", *summary, f"last {min(limit, len(failed))}:",
                      *(f"  {line}" for *_, line in failed[-limit:])])


def apply(stack_dir: Path, env: dict[str, str], extra: list[str], log_dir: Path, phase=None, auto_approve=True,
          stuck_after: float | None = None, emulator_log: Path | None = None) -> None:
    """terraform apply. With ``stuck_after`` (emulator mode), a resource still in progress
    after that many seconds stops the apply at once with the emulator's failed requests,
    instead of waiting out the provider's retry loops."""
    created = [0]
    watch = StuckResources(stuck_after) if stuck_after else None

    def count(line: str) -> None:
        if watch is not None:
            watch.see(line)
        if "Creation complete" in line:
            created[0] += 1
            if phase is not None and created[0] % 20 == 0:
                phase.note(f"{created[0]} resources created")

    args = ["apply", "-input=false", "-no-color", *extra]
    log = log_dir / "terraform-apply.log"
    if auto_approve:
        args.insert(1, "-auto-approve")
        try:
            result = tf.run(args, stack_dir, env, TIMEOUTS["apply"], log, count, watch.stuck if watch else None)
        except tf.TerraformStopped as stopped:
            errors = emulator_errors(emulator_log) if emulator_log else ""
            raise DeployError(
                f"terraform apply stopped: {stopped} (on the emulator no resource takes more than "
                f"~25 s, so this one cannot finish; log: {log}).\n{errors}"
            ) from None
    else:
        # Interactive: the user reads the plan and answers; output goes straight to them.
        result = subprocess.run([tf.terraform_binary(), *args], cwd=stack_dir, env=env, timeout=None, check=False)
    if result.returncode != 0:
        tail = (result.stdout or "")[-3000:]
        raise DeployError(f"terraform apply failed (log: {log}):\n{tail}")


def outputs(stack_dir: Path, env: dict[str, str]) -> dict:
    result = tf.run(["output", "-json", "-no-color"], stack_dir, env, TIMEOUTS["output"])
    if result.returncode != 0:
        raise DeployError(f"terraform output failed:\n{result.stdout[-2000:]}")
    return {k: v["value"] for k, v in json.loads(result.stdout).items()}


def resource_count(stack_dir: Path, env: dict[str, str]) -> int:
    result = tf.run(["state", "list"], stack_dir, env, TIMEOUTS["output"])
    return len([line for line in result.stdout.splitlines() if line.strip() and not line.startswith("data.")])


def start_local_apis(config: EnvironmentConfig, table_name: str, state: emu.RunState, state_dir: Path) -> dict[str, str]:
    """One local API process per region; returns region -> base URL (with the stage)."""
    urls = {}
    for region in config.regions:
        port_file = state_dir / f"api-{region}.port"
        port_file.unlink(missing_ok=True)
        proc = emu.spawn(
            [
                sys.executable, "-m", "tools.local_api", "--region", region, "--table", table_name,
                "--endpoint", state.emulator_url, "--stage", config.api.stage, "--port-file", str(port_file),
            ],
            state_dir / f"api-{region}.log",
            {**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
        )
        state.apis[region] = {"pid": proc.pid}
        state.save()
        deadline = time.monotonic() + TIMEOUTS["api"]
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise DeployError(f"local API for {region} did not start; see {state_dir / f'api-{region}.log'}")
            time.sleep(0.05)
        port = int(port_file.read_text())
        url = f"http://{emu.LOOPBACK}:{port}/{config.api.stage}"
        state.apis[region].update({"port": port, "url": url})
        state.save()
        urls[region] = url
    return urls


def down(state_dir: Path = STATE_DIR, tf_state: Path | None = None, quiet: bool = False) -> list[str]:
    """Stop everything a local deployment started and remove its state."""
    stopped = stop_processes(emu.RunState.load(state_dir / "state.json"))
    if state_dir.exists():
        shutil.rmtree(state_dir)
    if tf_state is not None:
        for path in tf_state.parent.glob(tf_state.name + "*"):
            path.unlink()
    if not quiet:
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return stopped


def deploy_local(config: EnvironmentConfig, outdir: Path, state_dir: Path, out=sys.stdout) -> Deployment:
    """Emulator up, synth, apply, local APIs, smoke. Leaves everything running for the user
    (``down`` stops it); on failure stops what it started and keeps the logs."""
    started = time.monotonic()
    progress = Progress(total=5, out=out)
    state = emu.RunState(state_dir / "state.json")
    try:
        with progress.phase("emulator: moto server on 127.0.0.1") as ph:
            proc, port = emu.start_emulator(state_dir)
            state.emulator_pid, state.emulator_port = proc.pid, port
            state.save()
            ph.note(f"{state.emulator_url} (log: {state_dir / 'moto.log'})")
        with progress.phase(f"synth: {config.stack_name}"):
            stack_dir = synth(config, outdir)
        deployment = Deployment(config=config, stack_dir=stack_dir)
        env = emulator_env(state, state_dir)
        with progress.phase(f"apply: {len(config.regions)} regions with Terraform") as ph:
            create_zone(config, state.emulator_url)
            init(stack_dir, env, state_dir)
            apply(stack_dir, env, [], state_dir, ph, stuck_after=EMULATOR_STUCK_AFTER, emulator_log=state_dir / "moto.log")
            deployment.resource_count = resource_count(stack_dir, env)
            ph.note(f"{deployment.resource_count} resources")
        deployment.outputs = outputs(stack_dir, env)
        with progress.phase("serve: the real handlers, one local API per region") as ph:
            deployment.local_urls = start_local_apis(config, deployment.outputs["table_name"], state, state_dir)
            for region, url in deployment.local_urls.items():
                ph.note(f"{region}: {url}")
        with progress.phase("smoke: health, create, get, delete in every region"):
            deployment.checks = smoke_tool.smoke(deployment.local_urls)
    except BaseException:
        stop_processes(state)
        raise
    deployment.timings = {**progress.timings, "total": time.monotonic() - started}
    return deployment


def deploy_real(config: EnvironmentConfig, outdir: Path, log_dir: Path, auto_approve: bool, out=sys.stdout) -> Deployment:
    """Synth, init with the environment's backend, apply with the user's credentials, smoke."""
    started = time.monotonic()
    progress = Progress(total=3, out=out)
    with progress.phase(f"synth: {config.stack_name}"):
        stack_dir = synth(config, outdir)
    deployment = Deployment(config=config, stack_dir=stack_dir)
    env = tf.terraform_env(log_dir)
    with progress.phase(f"apply: {len(config.regions)} regions with Terraform (your AWS credentials)") as ph:
        init(stack_dir, env, log_dir)
        apply(stack_dir, env, [], log_dir, ph, auto_approve=auto_approve)
        deployment.resource_count = resource_count(stack_dir, env)
    deployment.outputs = outputs(stack_dir, env)
    urls = {region: value["invoke_url"] for region, value in deployment.outputs["regions"].items()}
    deployment.local_urls = urls
    with progress.phase("smoke: health, create, get, delete in every region"):
        deployment.checks = smoke_tool.smoke(urls)
    deployment.timings = {**progress.timings, "total": time.monotonic() - started}
    return deployment


def init(stack_dir: Path, env: dict[str, str], log_dir: Path) -> None:
    result = tf.run(["init", "-input=false", "-no-color"], stack_dir, env, TIMEOUTS["init"], log_dir / "terraform-init.log")
    if result.returncode != 0:
        raise DeployError(f"terraform init failed:\n{result.stdout[-3000:]}")


def stop_processes(state: emu.RunState) -> list[str]:
    """Stop the local APIs, then the emulator; say which were still running."""
    stopped = []
    for region, api in state.apis.items():
        if api.get("pid") and emu.stop_pid(api["pid"]):
            stopped.append(f"local API {region} (pid {api['pid']})")
    if state.emulator_pid and emu.stop_pid(state.emulator_pid):
        stopped.append(f"emulator (pid {state.emulator_pid}, port {state.emulator_port})")
    return stopped


def summary(d: Deployment) -> str:
    c = d.config
    passed = sum(check.ok for check in d.checks)
    lines = [
        "",
        f"{c.stack_name}: {'emulated on 127.0.0.1' if c.emulator else 'deployed to AWS'}",
        f"  regions      {', '.join(c.regions)} (primary {c.primary_region}, {c.routing.mode} routing)",
        f"  resources    {d.resource_count} in Terraform state",
        f"  table        {d.outputs.get('table_name')}",
        f"  replication  {d.outputs.get('replication')}",
    ]
    for region in c.regions:
        lines.append(f"  {region:<12} {d.local_urls.get(region, '')}")
        invoke = d.outputs.get("regions", {}).get(region, {}).get("invoke_url")
        if c.emulator and invoke:
            lines.append(f"  {'':<12} (in the emulator: {invoke})")
    if d.outputs.get("global_url"):
        lines.append(f"  global URL   {d.outputs['global_url']}" + (" (Route53 records exist in the emulator only)" if c.emulator else ""))
    lines.append(f"  checked      {passed}/{len(d.checks)} smoke checks passed:")
    lines.append(smoke_tool.format_checks(d.checks))
    timing = ", ".join(f"{k.split(':')[0]} {v:.1f} s" for k, v in d.timings.items())
    lines.append(f"  time         {timing}")
    if c.emulator:
        lines.append("  stop it all  make down")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deploy an environment and smoke-check every region.")
    parser.add_argument("--env", default="local", help="environment name (default: local, the emulator)")
    parser.add_argument("--auto-approve", action="store_true", help="real environments: apply without asking")
    parser.add_argument("--down", action="store_true", help="stop the local deployment and remove its state")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.env)
        tf_state = PROJECT_DIR / config.state.path if config.state.backend == "local" else None
        if args.down:
            down(STATE_DIR, tf_state)
            return 0
        outdir = PROJECT_DIR / "cdktf.out"
        if config.emulator:
            down(STATE_DIR, tf_state, quiet=True)  # a fresh emulator has none of the old state
            deployment = deploy_local(config, outdir, STATE_DIR)
        else:
            deployment = deploy_real(config, outdir, PROJECT_DIR / "build" / "logs", args.auto_approve)
    except (DeployError, TimeoutError, FileNotFoundError, subprocess.TimeoutExpired) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(summary(deployment))
    return 0 if all(check.ok for check in deployment.checks) and deployment.checks else 1


if __name__ == "__main__":
    sys.exit(main())
