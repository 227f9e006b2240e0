"""The emulator's state as the IAM evaluation needs it, read from moto's backends: a role's
policies (inline, attached managed, permissions boundary), KMS key ids and aliases, the tags
moto keeps on tables, keys and roles, and a table's partition key."""

from __future__ import annotations

import json
from typing import Any

from moto.acm.models import acm_backends
from moto.dynamodb.models import dynamodb_backends
from moto.iam.models import IAMBackend, iam_backends
from moto.kms.models import kms_backends

from local.iam.model import Policy, Principal


def _document(document: Any) -> dict[str, Any]:
    parsed = json.loads(document) if isinstance(document, str) else document
    return dict(parsed)


def _managed(backend: IAMBackend, arn: str) -> Policy:
    policy = backend.get_policy(arn)
    version = next(v for v in policy.versions if v.version_id == policy.default_version_id)
    return Policy(arn, _document(version.document))


def principal(account: str, role_name: str, partition: str = "aws") -> Principal | None:
    """The role as the evaluator takes it, or None when the emulator's IAM has no such role."""
    backend = iam_backends[account][partition]
    role = next((role for role in backend.get_roles() if role.name == role_name), None)
    if role is None:
        return None
    inline = tuple(Policy(f"{role.name}/{name}", _document(doc)) for name, doc in role.policies.items())
    managed = tuple(_managed(backend, arn) for arn in role.managed_policies)
    boundary = _managed(backend, role.permissions_boundary_arn) if role.permissions_boundary_arn else None
    return Principal(role.arn, inline + managed, boundary)


class MotoState:
    """local.iam.calls.State over moto's backends of one account."""

    def __init__(self, account: str, partition: str = "aws") -> None:
        self.account, self.partition = account, partition

    def kms_key_id(self, region: str, key: str) -> str | None:
        try:
            return kms_backends[self.account][region].any_id_to_key_id(key)
        except (KeyError, TypeError, AttributeError):
            return None

    def kms_aliases(self, region: str, key_id: str) -> list[str]:
        return [alias.alias_name for alias in kms_backends[self.account][region].list_aliases(key_id)]

    def resource_tags(self, arn: str) -> dict[str, str]:
        parts = arn.split(":", 5)
        if len(parts) < 6:
            return {}
        service, region, resource = parts[2], parts[3], parts[5]
        if service == "kms" and resource.startswith("key/"):
            return dict(kms_backends[self.account][region].tagger.get_tag_dict_for_resource(resource[4:]))
        if service == "dynamodb" and resource.startswith("table/"):
            table = dynamodb_backends[self.account][region].tables.get(resource[6:].split("/")[0])
            return {tag["Key"]: tag["Value"] for tag in (table.tags or [])} if table else {}
        if service == "acm" and resource.startswith("certificate/"):
            certificate = acm_backends[self.account][region]._certificates.get(arn)
            return {key: value or "" for key, value in certificate.tags.items()} if certificate else {}
        if service == "iam" and resource.startswith("role/"):
            role = self._role(resource.rsplit("/", 1)[-1])
            return {tag["Key"]: tag["Value"] for tag in (role.tags or [])} if role else {}
        return {}

    def _role(self, name: str) -> Any:
        roles = iam_backends[self.account][self.partition].get_roles()
        return next((role for role in roles if role.name == name), None)

    def role_name_with_path(self, name: str) -> str | None:
        role = self._role(name)
        return f"{role.path.lstrip('/')}{role.name}" if role else None

    def role_boundary(self, name: str) -> str | None:
        role = self._role(name)
        return role.permissions_boundary_arn if role else None

    def table_hash_key(self, region: str, table: str) -> str | None:
        found = dynamodb_backends[self.account][region].tables.get(table)
        return found.hash_key_attr if found else None
