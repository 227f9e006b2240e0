"""IAM policy evaluation for the local stand-in: does a role's identity policies, within its
permissions boundary, allow one request? (docs/iam-evaluation.md says what is evaluated.)"""

from local.iam.conditions import EVALUATED_KEYS, EVALUATED_PREFIXES, is_evaluated
from local.iam.evaluator import evaluate
from local.iam.model import Decision, Policy, Principal, Request, Verdict

__all__ = [
    "EVALUATED_KEYS",
    "EVALUATED_PREFIXES",
    "Decision",
    "Policy",
    "Principal",
    "Request",
    "Verdict",
    "evaluate",
    "is_evaluated",
]
