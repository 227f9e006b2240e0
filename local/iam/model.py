"""What the evaluator takes and gives back: a principal's policies, one request, one decision."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# A request context value as the caller has it: one string (or bool/number), or several.
ContextValue = str | bool | int | float | Sequence[str]


@dataclass(frozen=True)
class Policy:
    """One policy document (parsed JSON) and the name that a decision's reason quotes: the
    managed policy's ARN or name, or ``<role>/<inline policy name>``."""

    name: str
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Principal:
    """An IAM role (or user): its identity policies, inline and attached managed alike, and
    its permissions boundary if it has one."""

    arn: str
    identity_policies: tuple[Policy, ...]
    boundary: Policy | None = None


@dataclass(frozen=True)
class Request:
    """One authorization question: ``action`` (``service:Name``) on ``resource`` (an ARN, or
    ``*`` for actions that name no resource), with the condition keys the request carries.
    Key names are case-insensitive, as in AWS; a multivalued key (``aws:TagKeys``) is a list."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


class Verdict(enum.Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "Deny (explicit)"
    IMPLICIT_DENY = "Deny (implicit)"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW
