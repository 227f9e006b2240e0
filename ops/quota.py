"""Quotas before apply: the account's Lambda concurrency quota in each region must hold the
environment's reservations plus the 100 concurrent executions Lambda keeps unreserved, or
the apply fails halfway (PutFunctionConcurrency is refused). Checked with Lambda's
GetAccountSettings (``AccountLimit.ConcurrentExecutions`` is the Service Quotas value
L-B99A9384, "Concurrent executions") before Terraform runs, stopping with the numbers.

It compares with the quota, not with what is unreserved now: the environment's own
functions may already hold their reservations. Reservations of other stacks in the same
account and region are not counted; ``UnreservedConcurrentExecutions`` is reported to help
there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modules.config.limits import HEALTH_RESERVED_CONCURRENCY, MIN_UNRESERVED_CONCURRENCY

if TYPE_CHECKING:
    from collections.abc import Callable

    from modules.config.sections import EnvironmentConfig

QUOTA_CODE = "L-B99A9384"


class QuotaError(RuntimeError):
    pass


@dataclass(frozen=True)
class RegionConcurrency:
    region: str
    quota: int
    unreserved: int
    reserved: int

    @property
    def needed(self) -> int:
        return self.reserved + MIN_UNRESERVED_CONCURRENCY

    def describe(self, stack: str) -> str:
        quota = f"the account's Lambda concurrency quota is {self.quota} ({self.unreserved} unreserved now)"
        reserved = f"the item functions' reservations and {HEALTH_RESERVED_CONCURRENCY} for health"
        return (
            f"{self.region}: {quota}; {stack} reserves {self.reserved} there ({reserved}) and Lambda keeps "
            f"{MIN_UNRESERVED_CONCURRENCY} unreserved: {self.needed} needed"
        )


def lambda_concurrency(config: EnvironmentConfig, client_for: Callable[[str], Any]) -> list[RegionConcurrency]:
    """Each region's quota and what the environment reserves there; ``client_for(region)``
    gives a Lambda client."""
    found = []
    for region in config.regions:
        settings = client_for(region).get_account_settings()["AccountLimit"]
        found.append(
            RegionConcurrency(
                region=region,
                quota=settings["ConcurrentExecutions"],
                unreserved=settings["UnreservedConcurrentExecutions"],
                reserved=config.lambda_.reserved_per_region,
            )
        )
    return found


def require_lambda_concurrency(config: EnvironmentConfig, client_for: Callable[[str], Any]) -> list[RegionConcurrency]:
    """The regions' numbers, or QuotaError naming every region that falls short."""
    found = lambda_concurrency(config, client_for)
    short = [region.describe(config.stack_name) for region in found if region.quota < region.needed]
    if short:
        raise QuotaError(
            "Lambda concurrency quota too low, nothing applied:\n  "
            + "\n  ".join(short)
            + f"\nAsk for more (Service Quotas, lambda {QUOTA_CODE}, per region) or lower lambda.reserved_concurrency."
        )
    return found
