"""Times the local stack's lifecycle on the emulator: apply (inside a full `make deploy`
flow), plan after apply, destroy. Prints numbers; stops everything it started.

    .venv/bin/python benchmarks/deploy.py [--runs N]
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


def one_run() -> dict[str, float]:
    config = deploy.load_config("local")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        state_dir = root / ".emulator"
        deployment = deploy.deploy_local(config, root / "cdktf.out", state_dir, out=io.StringIO())
        state = emulator.RunState.load(state_dir / "state.json")
        try:
            env = deploy.emulator_env(state, state_dir)
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
    return {
        "resources": deployment.resource_count,
        "apply (init+apply+state list)": deployment.timings["apply: 2 regions with Terraform"],
        "deploy total": deployment.timings["total"],
        "plan after apply": plan_s,
        "destroy": destroy_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    runs = [one_run() for _ in range(args.runs)]
    print(
        f"local stack on moto's server, {runs[0]['resources']:.0f} resources, 2 regions, "
        f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    for key in runs[0]:
        if key == "resources":
            continue
        values = [r[key] for r in runs]
        print(f"  {key:<30} median {statistics.median(values):6.1f} s   runs: {', '.join(f'{v:.1f}' for v in values)}")
    print("  target: apply <= 60 s for two regions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
