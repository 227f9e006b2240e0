"""The README's generated tables: the environment-file keys (from the declarations in
``modules/config/sections.py``) and the summary of the shipped environments.

``python -m modules.config.docs --markdown`` prints the keys' table; ``make docs`` rewrites both.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from modules.config.limits import MIN_UNRESERVED_CONCURRENCY
from modules.config.loader import load_environments
from modules.config.schema import markdown_table, marked_span
from modules.config.sections import KEYS

if TYPE_CHECKING:
    from collections.abc import Iterable

    from modules.config.sections import EnvironmentConfig


README_BEGIN = "<!-- environment-keys: begin (generated from modules/config/sections.py by `make docs`) -->"
README_END = "<!-- environment-keys: end -->"
SUMMARY_BEGIN = "<!-- environments: begin (generated from environments/*.toml by `make docs`) -->"
SUMMARY_END = "<!-- environments: end -->"
ENVIRONMENTS_DIR = Path(__file__).resolve().parent.parent.parent / "environments"


def environments_table(configs: Iterable[EnvironmentConfig]) -> str:
    """The README's summary of the shipped environments: where each runs, who its alarms
    reach, and the Lambda concurrency quota it needs in each of its regions."""
    lines = [
        "| environment | account | zone | regions | alarms reach | Lambda reserved per region "
        "| Lambda quota it needs per region | API Gateway account settings |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for config in configs:
        reserved = config.lambda_.reserved_per_region
        cells = [
            f"`{config.environment}`",
            ", ".join(config.allowed_account_ids) or "(emulator)",
            f"`{config.domain.zone_name}`" if config.domain else "(no domain)",
            ", ".join(config.regions),
            config.alarms.email or "**nobody**: no `alarms.email`, alarms show in the CloudWatch console only",
            f"{reserved}",
            f"{reserved + MIN_UNRESERVED_CONCURRENCY} (declared: {config.lambda_.account_concurrency})",
            "set here" if config.api.manage_account_settings else "set by another environment",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str, configs: Iterable[EnvironmentConfig] | None = None) -> str:
    """``readme`` with the environment-key table and, given ``configs``, the summary of the
    environments regenerated between their markers."""
    start, stop = marked_span(readme, README_BEGIN, README_END)
    readme = readme[:start] + markdown_table(KEYS) + readme[stop:]
    if configs is not None:
        start, stop = marked_span(readme, SUMMARY_BEGIN, SUMMARY_END)
        readme = readme[:start] + environments_table(configs) + readme[stop:]
    return readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modules.config.docs", description="The environment-file keys.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--markdown", action="store_true", help="print the README's environment table")
    action.add_argument("--update-readme", metavar="README", type=Path, help="regenerate the tables in README")
    parser.add_argument(
        "--environments",
        metavar="DIR",
        type=Path,
        default=ENVIRONMENTS_DIR,
        help="the environment files the README's summary describes (default: environments/)",
    )
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown_table(KEYS))
        return 0
    readme = args.update_readme.read_text(encoding="utf-8")
    configs = load_environments(args.environments) if SUMMARY_BEGIN in readme else None
    updated = readme_with_table(readme, configs)
    if updated != readme:
        args.update_readme.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
