#!/usr/bin/env python
"""Synthesize one Terraform stack, ``backend-<env>``, per ``environments/<env>.toml``.

Choose environments with ``BACKEND_ENVIRONMENTS=dev,prod`` (default: every file) and read
them from another folder with ``BACKEND_ENVIRONMENTS_DIR`` (default: environments/). The cdktf
CLI runs this file (see cdktf.json) and sets CDKTF_OUTDIR; run alone it writes cdktf.out/.
Environment files are loaded and validated before cdktf is imported, so a bad file is
reported in well under a second and nothing is written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from modules.config import ConfigError, EnvironmentConfig, load_environments

if TYPE_CHECKING:
    from cdktf import App

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

    from modules.package import build_functions_zip
    from modules.stack import BackendStack, FunctionsCode

    zip_path = BUILD_DIR / "functions.zip"
    code = FunctionsCode(path=zip_path, sha256=build_functions_zip(FUNCTIONS_DIR, zip_path))
    app = App(outdir=outdir) if outdir else App()
    for config in configs:
        BackendStack(app, config, code, PROJECT_DIR)
    return app


def main() -> int:
    try:
        configs = load_environments(
            Path(os.environ.get("BACKEND_ENVIRONMENTS_DIR") or ENVIRONMENTS_DIR),
            selected_environments(os.environ.get("BACKEND_ENVIRONMENTS")),
        )
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        print("nothing was synthesized", file=sys.stderr)
        return 2
    build_app(configs).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
