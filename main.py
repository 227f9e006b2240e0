#!/usr/bin/env python
"""Synthesize one Terraform stack, ``backend-<env>``, per ``environments/<env>.toml``.

Choose environments with ``BACKEND_ENVIRONMENTS=dev,prod`` (default: every file; add
``bootstrap`` for the bootstrap stack, see modules/bootstrap/stack.py) and read
them from another folder with ``BACKEND_ENVIRONMENTS_DIR`` (default: environments/). The cdktf
CLI runs this file (see cdktf.json) and sets CDKTF_OUTDIR; run alone it writes cdktf.out/.
Environment files are loaded and validated before cdktf is imported, so a bad file is
reported in well under a second and nothing is written (the previous run's stack
configurations are removed, so nothing stale is deployed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from modules.bootstrap.delivery import load_delivery, split_bootstrap
from modules.config.loader import load_environments
from modules.config.schema import ConfigError
from modules.outdir import discard_stale_output

if TYPE_CHECKING:
    from cdktf import App

    from modules.config.sections import EnvironmentConfig

# jsii prints a 15-line banner on every run because the machine's Node 20 is past its
# end of life; the pinned, archived jsii/cdktf cannot change that, so the banner is only
# noise. Set the variable to "" to see it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

PROJECT_DIR = Path(__file__).resolve().parent
ENVIRONMENTS_DIR = PROJECT_DIR / "environments"
FUNCTIONS_DIR = PROJECT_DIR / "functions"
BUILD_DIR = PROJECT_DIR / "build"


def selected_environments(value: str | None) -> list[str] | None:
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    return names or None


def build_app(configs: list[EnvironmentConfig], outdir: str | None = None) -> App:
    """The cdktf App with one stack per config (imports cdktf: seconds, not milliseconds)."""
    from cdktf import App

    from modules.package import WheelTarget, build_authorizer_zip, build_functions_zip
    from modules.stack import BackendStack, FunctionsCode

    zip_path = BUILD_DIR / "functions.zip"
    code = FunctionsCode(path=zip_path, sha256=build_functions_zip(FUNCTIONS_DIR, zip_path))
    authorizers: dict[WheelTarget, FunctionsCode] = {}
    app = App(outdir=outdir) if outdir else App()
    for config in configs:
        target = WheelTarget(config.lambda_.runtime, config.lambda_.architecture)
        if not config.auth.public and target not in authorizers:
            path = BUILD_DIR / f"authorizer-{target.name}.zip"
            authorizers[target] = FunctionsCode(path=path, sha256=build_authorizer_zip(PROJECT_DIR, target, path))
        BackendStack(app, config, code, PROJECT_DIR, authorizers.get(target))
    return app


def print_failover_bounds(configs: list[EnvironmentConfig]) -> None:
    """The worst case each environment's health checks and records allow (modules/failover.py)."""
    from modules.failover import failover_bound

    for config in configs:
        print(f"{config.stack_name}: failover {failover_bound(config.health_check).describe()}", flush=True)


def print_fixed_costs(configs: list[EnvironmentConfig], outdir: Path) -> None:
    """Each environment's fixed monthly cost, counted from its synthesized stack (modules/cost.py)."""
    import json

    from modules.cost import counts, describe, load_prices

    prices = load_prices()
    for config in configs:
        doc = json.loads((outdir / "stacks" / config.stack_name / "cdk.tf.json").read_text(encoding="utf-8"))
        print(f"{config.stack_name}: {describe(counts(doc), prices, len(config.regions))}", flush=True)


def main() -> int:
    outdir = Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out")
    environments_dir = Path(os.environ.get("BACKEND_ENVIRONMENTS_DIR") or ENVIRONMENTS_DIR)
    with_bootstrap, names = split_bootstrap(selected_environments(os.environ.get("BACKEND_ENVIRONMENTS")))
    try:
        configs = load_environments(environments_dir, names) if names != [] else []
        # The bootstrap derives every environment's roles, so it loads them all.
        bootstrap_configs = load_environments(environments_dir) if with_bootstrap else []
        delivery = load_delivery(PROJECT_DIR / "delivery.toml") if with_bootstrap else None
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        stale = discard_stale_output(outdir)
        print(
            "nothing was synthesized"
            + (f"; removed the previous synth of {', '.join(stale)} from {outdir}" if stale else ""),
            file=sys.stderr,
        )
        return 2
    print_failover_bounds(configs)
    app = build_app(configs)
    if delivery is not None:
        from modules.bootstrap.stack import add_bootstrap

        add_bootstrap(app, bootstrap_configs, delivery, PROJECT_DIR, build_app)
    app.synth()
    print_fixed_costs(configs, outdir)
    from ops.provider_lock import lock_stacks

    lock_stacks(outdir, BUILD_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
