"""Who can do what with a secret in moto, as iam-simulate judges it from the policies AWS holds."""

from __future__ import annotations

from typing import Any

from support.world import PRODUCER, REGION, World

from iam_evaluator import (
    AccessResult,
    Evaluator,
    aws_managed_secretsmanager_key_policy,
    can_decrypt_directly,
    can_read_secret,
    can_write_secret_version,
)

APP_OF_A = f"arn:aws:iam::{PRODUCER}:role/payments-app"
ROTATION_OF_A = f"arn:aws:iam::{PRODUCER}:role/rotation"
ADMIN_OF_A = f"arn:aws:iam::{PRODUCER}:role/admin"
# Where the AWS managed key stands in the evaluator (moto's stand-in key has a policy of its own).
MANAGED_KEY = f"arn:aws:kms:{REGION}:{PRODUCER}:key/aws-secretsmanager"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


# What apps and rotation functions of A usually hold: Secrets Manager actions only (the managed key did the rest).
APP_POLICY = policy(allow("secretsmanager:GetSecretValue"))
ROTATION_POLICY = policy(allow(["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]))
ADMIN_POLICY = policy(allow("*"))


class Access:
    """The evaluator's verdicts on one secret, from the key policy and resource policy moto holds now."""

    def __init__(self, evaluator: Evaluator, world: World, secret_arn: str) -> None:
        self.evaluator = evaluator
        self.world = world
        self.secret_arn = secret_arn

    def key(self) -> tuple[str, dict[str, Any]]:
        key_id = self.world.kms_key_id(self.secret_arn)
        if key_id is None or key_id.startswith("alias/aws/"):
            return MANAGED_KEY, aws_managed_secretsmanager_key_policy(PRODUCER, REGION)
        arn = self.world.key_arn(key_id)
        return arn, self.world.key_policy(arn)

    def _arguments(
        self, caller: str, identity: dict[str, Any], org_id: str | None = None, org_paths: list[str] | None = None
    ) -> dict[str, Any]:
        key_arn, key_policy = self.key()
        return {
            "caller_arn": caller,
            "secret_arn": self.secret_arn,
            "kms_key_arn": key_arn,
            "key_policy": key_policy,
            "identity_policies": [identity],
            "org_id": org_id,
            "org_paths": org_paths,
        }

    def read(
        self,
        caller: str,
        identity: dict[str, Any],
        org_id: str | None = None,
        org_paths: list[str] | None = None,
        *,
        at: str | None = None,
    ) -> AccessResult:
        """Can `caller`, holding `identity`, read the secret's value through Secrets Manager? `org_id` and
        `org_paths` are what AWS puts in aws:PrincipalOrgID and aws:PrincipalOrgPaths for the caller; `at`, in
        aws:CurrentTime (AWS sets it on every request; without it a condition on the time cannot match)."""
        arguments = self._arguments(caller, identity, org_id, org_paths)
        clock = {"extra_context": {"aws:CurrentTime": at}} if at else {}
        return can_read_secret(
            self.evaluator, secret_policy=self.world.resource_policy(self.secret_arn), **arguments, **clock
        )

    def write(self, caller: str, identity: dict[str, Any]) -> AccessResult:
        """Can `caller` put a new version (as rotation does)?"""
        arguments = self._arguments(caller, identity)
        return can_write_secret_version(
            self.evaluator, secret_policy=self.world.resource_policy(self.secret_arn), **arguments
        )

    def decrypt_directly(self, caller: str, identity: dict[str, Any]) -> AccessResult:
        """Can `caller` call kms:Decrypt on the key itself, with the secret's encryption context?"""
        return can_decrypt_directly(self.evaluator, **self._arguments(caller, identity))

    def published_policy(self, account: str) -> dict[str, Any]:
        """The consumer IAM policy secretshare published in `account`, as its admins would attach it."""
        found = self.world.published_policy(
            account, self.world.secretsmanager.describe_secret(SecretId=self.secret_arn)["Name"]
        )
        assert found is not None, f"no consumer policy published in {account}"
        return found
