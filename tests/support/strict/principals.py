"""Which IAM principals exist, and what KMS does with a key policy naming one that does not.

KMS refuses a key policy naming a principal that does not exist, or a unique id (`AROA...`, `AIDA...`): "The
principals in the key policy must exist and be visible to KMS" (botocore's CreateKey and PutKeyPolicy documentation);
"Policy contains a statement with one or more invalid principals" (repost.aws knowledge center,
kms-policy-error-invalid-principals, docs/aws-facts.md §6 and §12). AWS shows a deleted principal in every policy that
named it by its unique id; a role created again under the same name gets another id, which the old one never matches.

Every principal exists unless a test says otherwise (`delete`, `never_existed`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from moto.kms.models import kms_backends
from moto.secretsmanager.models import secretsmanager_backends

from .requests import AwsRequest

INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."
# The unique ids AWS gives roles (AROA), users (AIDA), groups, instance profiles and the like.
UNIQUE_ID = re.compile(r"A(RO|ID|GP|IP|NP|NV|SI)A[A-Z0-9]{12,}")
_UNIQUE_ID_PREFIX = {"role": "AROA", "user": "AIDA"}


class IamWorld:
    """The principals the test world says do not exist, and the unique ids of those deleted."""

    def __init__(self) -> None:
        self.missing: set[str] = set()
        self.unique_ids: dict[str, str] = {}  # principal ARN -> the id AWS shows in its place once it is deleted

    def never_existed(self, principal: str) -> None:
        """A principal nobody created (a typo, an account that was never made)."""
        self.missing.add(principal)

    def delete(self, principal: str) -> str:
        """Delete a role or user: every key policy and secret resource policy naming it now names its unique id (the
        id is returned); KMS refuses every policy that still holds it."""
        unique_id = self.unique_ids.setdefault(principal, _unique_id(principal))
        self.missing.add(principal)
        for document, store in _stored_policies():
            rewritten = _replace_principal(document, principal, unique_id)
            if rewritten != document:
                store(rewritten)
        return unique_id

    def create(self, principal: str) -> None:
        """Create a principal (again): it exists; policies that held its old unique id keep holding that id."""
        self.missing.discard(principal)

    def refusal(self, request: AwsRequest) -> tuple[int, str, str] | None:
        """KMS's answer to a key policy naming a principal that does not exist, or a unique id."""
        if request.service != "kms" or request.operation not in ("CreateKey", "PutKeyPolicy"):
            return None
        text = request.parameters.get("Policy")
        if not text:
            return None
        try:
            policy = json.loads(text)
        except ValueError:
            return 400, "MalformedPolicyDocumentException", "The policy is not valid JSON."
        if any(UNIQUE_ID.fullmatch(p) or p in self.missing for p in principals(policy)):
            return 400, "MalformedPolicyDocumentException", INVALID_PRINCIPALS
        return None


def principals(policy: Any) -> Iterator[str]:
    """Every AWS principal a policy names."""
    found = policy.get("Statement", []) if isinstance(policy, dict) else []
    for statement in [found] if isinstance(found, dict) else found:
        principal = statement.get("Principal") if isinstance(statement, dict) else None
        value = principal.get("AWS", []) if isinstance(principal, dict) else principal or []
        yield from [value] if isinstance(value, str) else value


def _unique_id(principal: str) -> str:
    kind = principal.split(":")[-1].split("/")[0]
    digest = hashlib.sha256(principal.encode()).hexdigest().upper()
    return _UNIQUE_ID_PREFIX.get(kind, "AIDA") + re.sub(r"[^A-Z0-9]", "", digest)[:17]


def _replace_principal(document: str, principal: str, unique_id: str) -> str:
    """The policy with `principal` named by its unique id wherever a statement's Principal names it."""
    policy = json.loads(document)
    if principal not in principals(policy):
        return document
    found = policy.get("Statement", [])
    for statement in [found] if isinstance(found, dict) else found:
        names = statement.get("Principal")
        value = names.get("AWS") if isinstance(names, dict) else None
        if isinstance(value, list):
            names["AWS"] = [unique_id if v == principal else v for v in value]
        elif value == principal:
            names["AWS"] = unique_id
    return json.dumps(policy)


def _stored_policies() -> Iterator[tuple[str, Any]]:
    """Every key policy and secret resource policy moto holds, with a function that replaces it."""
    for regions in list(kms_backends.values()):
        for backend in list(regions.values()):
            for key in list(backend.keys.values()):
                yield key.policy, _setter(key, "policy")
    for regions in list(secretsmanager_backends.values()):
        for backend in list(regions.values()):
            for secret in list(backend.secrets.values()):
                if getattr(secret, "policy", None):
                    yield secret.policy, _setter(secret, "policy")


def _setter(holder: Any, attribute: str) -> Any:
    return lambda value: setattr(holder, attribute, value)
