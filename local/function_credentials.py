"""Credentials of a function's execution role, as Lambda gets them for each execution
environment: AssumeRole of the role in the function's deployed configuration, through the
emulator's STS with the emulator's root credentials.

moto's STS grants AssumeRole whatever the role's trust policy says, so the trust policy is
checked here, as Lambda's own AssumeRole would be checked by STS: it must allow
``sts:AssumeRole`` to the service principal ``lambda.amazonaws.com`` (local/iam_policy.py,
where a condition that cannot be evaluated never allows). A role that does not exist or does
not trust Lambda is refused (``RoleRefused``, with a warning on ``local.function_credentials``).

Sessions are cached per role and handed out until less than ``REFRESH_MARGIN_S`` of them is
left, so an environment started with one never sees it expire during an invocation (Lambda's
longest timeout is 15 minutes).
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from local import iam_policy

if TYPE_CHECKING:
    from collections.abc import Mapping

    from local.emulator import AwsClient

LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
SESSION_S = 3600  # an IAM role's default maximum session duration
REFRESH_MARGIN_S = 20 * 60
log = logging.getLogger(__name__)


class RoleRefused(RuntimeError):
    """The function's execution role cannot be assumed by Lambda."""


@dataclass(frozen=True)
class Session:
    """Temporary credentials of one role; ``expires`` on the ``time.monotonic()`` clock."""

    role_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires: float

    def fresh(self) -> bool:
        """Long enough left to serve an invocation; else no new environment gets it, and idle
        ones holding it are retired."""
        return self.expires - time.monotonic() > REFRESH_MARGIN_S

    def variables(self) -> dict[str, str]:
        """What Lambda puts in an execution environment's process environment."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


def trust_decision(trust_policy: str | Mapping, role_arn: str) -> iam_policy.Decision:
    """Does the trust policy let Lambda assume the role? (A trust policy names no resource:
    its statements apply to the role itself.)"""
    document = json.loads(unquote(trust_policy)) if isinstance(trust_policy, str) else dict(trust_policy)
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    as_resource_policy = {
        "Statement": [
            {**statement, "Resource": role_arn} if "NotResource" not in statement else statement
            for statement in statements
            if isinstance(statement, dict)
        ]
    }
    return iam_policy.evaluate(as_resource_policy, iam_policy.Request(LAMBDA_PRINCIPAL, "sts:AssumeRole", role_arn))


class RoleCredentials:
    """Sessions of execution roles, from root ``iam`` and ``sts`` clients of the emulator."""

    def __init__(self, iam: AwsClient, sts: AwsClient) -> None:
        self.iam, self.sts = iam, sts
        self._sessions: dict[tuple[str, str], Session] = {}
        self._lock = threading.Lock()

    def session(self, role_arn: str, session_name: str) -> Session:
        """A fresh session of ``role_arn`` named ``session_name`` (Lambda names it after the
        function), or RoleRefused."""
        with self._lock:
            cached = self._sessions.get((role_arn, session_name))
            if cached is not None and cached.fresh():
                return cached
            try:
                session = self._assume(role_arn, session_name)
            except RoleRefused as refused:
                log.warning("not running %s as %s: %s", session_name, role_arn or "(no role)", refused)
                raise
            self._sessions[(role_arn, session_name)] = session
            return session

    def _assume(self, role_arn: str, session_name: str) -> Session:
        if ":role/" not in role_arn:
            raise RoleRefused(f"{role_arn!r} is not a role ARN")
        try:
            role = self.iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
        except self.iam.exceptions.NoSuchEntityException:
            raise RoleRefused(f"the execution role {role_arn} does not exist") from None
        decision = trust_decision(role.get("AssumeRolePolicyDocument") or "{}", role["Arn"])
        if not decision.allowed:
            raise RoleRefused(
                f"the trust policy of {role_arn} does not let {LAMBDA_PRINCIPAL} assume it ({decision.reason})"
            )
        answer = self.sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=SESSION_S)
        credentials = answer["Credentials"]
        left = credentials["Expiration"].timestamp() - datetime.datetime.now(datetime.UTC).timestamp()
        return Session(
            role_arn,
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
            time.monotonic() + left,
        )
