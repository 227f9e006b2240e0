"""Physical names: ``{project}-{environment}-{component}``, plus the region where the name
lives in a global namespace (IAM roles) or must say where it points (alarms)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Naming:
    project: str
    environment: str

    def name(self, component: str, region: str | None = None) -> str:
        base = f"{self.project}-{self.environment}-{component}"
        return f"{base}-{region}" if region else base

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.environment}"


def provider_alias(region: str) -> str:
    """Terraform provider alias for a region: ``eu-west-1`` -> ``eu_west_1``."""
    return region.replace("-", "_")
