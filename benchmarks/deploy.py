"""Times the local stack's lifecycle on the emulator: apply (inside a full `make deploy`
flow), plan after apply, destroy. Prints numbers; stops everything it started.

With ``--as-roles``, each run deploys twice, side by side: with the emulator's root keys (no
IAM evaluated) and as the pipeline's roles (`make deploy AS_ROLES=1`: plan as the plan role,
apply as the deploy role, every call evaluated), and prints both apply phases and their ratio.

    .venv/bin/python benchmarks/deploy.py [--runs N] [--as-roles]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local import emulator
from ops import deploy
from ops import terraform as tf


def one_run(as_roles: bool = False) -> dict[str, float]:
    config = deploy.load_config("local")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        state_dir = root / ".emulator"
        deployment = deploy.deploy_local(config, root / "cdktf.out", state_dir, out=io.StringIO(), as_roles=as_roles)
        state = emulator.RunState.load(state_dir / "state.json")
        try:
            env = deploy.role_env(deployment.roles["deploy"], state, state_dir) if as_roles else None
            env = env or deploy.emulator_env(state, state_dir)
            started = time.monotonic()
            plan = tf.run(["plan", "-detailed-exitcode", "-input=false", "-no-color"], deployment.stack_dir, env, 300)
            plan_s = time.monotonic() - started
            started = time.monotonic()
            destroy = tf.run(["destroy", "-auto-approve", "-input=false", "-no-color"], deployment.stack_dir, env, 600)
            destroy_s = time.monotonic() - started
        finally:
            deploy.stop_processes(state)
    if plan.returncode != 0 or destroy.returncode != 0:
        raise SystemExit(f"plan exit {plan.returncode}, destroy exit {destroy.returncode}")
    (apply_phase,) = [name for name in deployment.timings if "regions with Terraform" in name]
    run = {
        "resources": deployment.resource_count,
        "apply (init+apply+state list)": deployment.timings[apply_phase],
        "deploy total": deployment.timings["total"],
        "plan after apply": plan_s,
        "destroy": destroy_s,
    }
    if as_roles:
        run["bootstrap (root keys)"] = deployment.timings[next(n for n in deployment.timings if "bootstrap" in n)]
        run["requests evaluated"] = deployment.role_requests
    return run


def print_runs(title: str, runs: list[dict[str, float]]) -> None:
    print(title)
    for key in runs[0]:
        if key in ("resources", "requests evaluated"):
            continue
        values = [r[key] for r in runs]
        print(f"  {key:<30} median {statistics.median(values):6.1f} s   runs: {', '.join(f'{v:.1f}' for v in values)}")
    if "requests evaluated" in runs[0]:
        print(
            f"  requests evaluated during plan and apply as the roles: {[int(r['requests evaluated']) for r in runs]}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--as-roles", action="store_true", help="also deploy as the pipeline's roles, side by side")
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):  # alternated, so both see the same load
        runs.append({"root": one_run(), **({"roles": one_run(as_roles=True)} if args.as_roles else {})})
    print(
        f"local stack on moto's server, {runs[0]['root']['resources']:.0f} resources, 2 regions, "
        f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print_runs("with the root keys (no IAM evaluated):", [r["root"] for r in runs])
    print("  target: apply <= 60 s for two regions")
    if args.as_roles:
        print_runs(
            "as the pipeline's roles (every call evaluated; the apply phase includes the plan role's plan):",
            [r["roles"] for r in runs],
        )
        key = "apply (init+apply+state list)"
        ratio = statistics.median(r["roles"][key] / r["root"][key] for r in runs)
        print(f"  apply as the roles / apply with the root keys: {ratio:.2f}x (median of the runs; target <= 1.15x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
