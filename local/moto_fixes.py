"""Corrections to moto's models where it loses what Terraform deployed, applied in the
process that serves moto (``apply()``, idempotent) so that the local gateway reads back
what AWS would have kept.

- API Gateway authorizers: moto 5.x passes ``identityValidationExpression`` from
  CreateAuthorizer to its model under a misspelled keyword (``identiy_validation_expression``)
  that the model ignores, so GetAuthorizer never returns the expression and the gateway
  cannot refuse a malformed header before invoking the authorizer, as API Gateway does.
  (UpdateAuthorizer's patch operation keeps it; only creation loses it.)
"""

from __future__ import annotations

from typing import Any

from moto.apigateway import models as apigateway_models

MISSPELLED = "identiy_validation_expression"
_APPLIED = "_local_moto_fixes_applied"


def apply() -> None:
    """Patches moto in this process; a second call changes nothing."""
    authorizer = apigateway_models.Authorizer
    if getattr(authorizer, _APPLIED, False):
        return
    original = authorizer.__init__

    def __init__(
        self: apigateway_models.Authorizer,
        authorizer_id: str | None,
        name: str | None,
        authorizer_type: str | None,
        **kwargs: Any,
    ) -> None:
        if MISSPELLED in kwargs:
            kwargs.setdefault("identity_validation_expression", kwargs.pop(MISSPELLED))
        original(self, authorizer_id, name, authorizer_type, **kwargs)

    authorizer.__init__ = __init__  # type: ignore[method-assign]
    setattr(authorizer, _APPLIED, True)
