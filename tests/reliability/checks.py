"""What a user checks after a fault: who the key policy, the resource policy and the parameters grant."""

from __future__ import annotations

import json
from typing import Any

from support.sam import emf_blobs

B = "222222222222"
C = "333333333333"
D = "444444444444"
ROOT_B = f"arn:aws:iam::{B}:root"
ROOT_D = f"arn:aws:iam::{D}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"
ACCOUNTS = (B, C, D)
SECRET_VALUE = "pw-7Hq2-NEVER-LOGGED-9xZ"  # distinctive, so a leak anywhere is found by a substring search


def account_of(principal: str) -> str:
    return principal.split(":")[4]


def accounts_of(principals: set[str]) -> set[str]:
    return {account_of(p) for p in principals}


def published_keys(world: Any, secret_arn: str) -> dict[str, set[str]]:
    """Account -> the key ARNs its published consumer policy for the secret names."""
    found: dict[str, set[str]] = {}
    for account in ACCOUNTS:
        for value in world.parameters(account).values():
            document = json.loads(value)
            resources = {s["Resource"] for s in document["Statement"]}
            if secret_arn in resources:
                found.setdefault(account, set()).update(r for r in resources if ":kms:" in r)
    return found


def assert_shared_exactly(world: Any, secret_arn: str, consumers: set[str]) -> None:
    """The key grant, the resource grant and the published parameters are exactly the tag's consumers, and every
    parameter names the key the secret is on (by full ARN)."""
    sharing = world.sharing(secret_arn, ACCOUNTS)
    assert sharing.key_grantees == consumers, "key policy"
    assert sharing.resource_grantees == consumers, "resource policy"
    assert sharing.parameter_accounts == accounts_of(consumers), "parameters"
    key_arn = world.kms_key_id(secret_arn) if consumers else None
    if consumers:
        assert key_arn.startswith("arn:aws:kms:"), key_arn
    assert published_keys(world, secret_arn) == {account: {key_arn} for account in accounts_of(consumers)}


def assert_grants_nothing_beyond(world: Any, secret_arn: str, consumers: set[str]) -> None:
    """Nothing the tag does not ask for is granted in either policy, nor published to another account."""
    sharing = world.sharing(secret_arn, ACCOUNTS)
    assert sharing.key_grantees <= consumers, f"key policy grants {sharing.key_grantees - consumers}"
    assert sharing.resource_grantees <= consumers, f"resource policy grants {sharing.resource_grantees - consumers}"
    assert sharing.parameter_accounts <= accounts_of(consumers), "a parameter is published to another account"


def readers(world: Any, secret_arn: str) -> set[str]:
    """Principals that both policies grant: reading a secret across accounts needs the resource policy's
    GetSecretValue and the key policy's kms:Decrypt."""
    sharing = world.sharing(secret_arn, ACCOUNTS)
    return set(sharing.key_grantees & sharing.resource_grantees)


def published_parameters(world: Any, account: str, secret_arn: str) -> dict[str, str]:
    """Name -> value of the consumer policies published in `account` for the secret."""
    values = world.parameters(account)
    return {name: values[name] for name in world.parameters_for(account, secret_arn)}


def snapshot(world: Any, secret_arn: str) -> dict[str, Any]:
    """Everything a user can see of one shared secret, as JSON values."""
    key_arn = world.kms_key_id(secret_arn)
    return {
        "kms_key_id": key_arn,
        "key_policy": world.key_policy(key_arn) if key_arn else None,
        "resource_policy": world.resource_policy(secret_arn),
        "parameters": {account: published_parameters(world, account, secret_arn) for account in ACCOUNTS},
    }


def metric_totals(output: str) -> dict[str, float]:
    """Sum of each metric over every EMF document in the handler's output."""
    totals: dict[str, float] = {}
    for blob in emf_blobs(output):
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                name = metric["Name"]
                values = blob[name] if isinstance(blob[name], list) else [blob[name]]
                totals[name] = totals.get(name, 0) + sum(values)
    return totals
