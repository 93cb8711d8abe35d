"""Moving a secret from the AWS managed key to a customer-managed key keeps it readable and touches no version.

What AWS does with the versions (docs/security.md, "Key changes"): UpdateSecret with a new KmsKeyId re-encrypts
the AWSCURRENT, AWSPENDING and AWSPREVIOUS versions under the new key and keeps every version under the previous
key as well. moto does not encrypt, so this test checks what secretshare controls: it sends only the key
(never the value, so no version is created), and AWSCURRENT reads back the same after the move.
"""

from __future__ import annotations

from checks import ROLE_C, ROOT_B, B, assert_shared_exactly

NAME = "app/db-password"


def versions(world, arn):
    found = world.secretsmanager.list_secret_version_ids(SecretId=arn)["Versions"]
    return {version["VersionId"]: sorted(version["VersionStages"]) for version in found}


def test_awscurrent_reads_the_same_after_the_move_and_no_version_is_added_or_relabelled(world, calls):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}", value="first-value")
    world.secretsmanager.put_secret_value(SecretId=arn, SecretString="current-value")
    before = versions(world, arn)
    assert sorted(stage for stages in before.values() for stage in stages) == ["AWSCURRENT", "AWSPREVIOUS"]
    assert world.kms_key_id(arn) is None  # the AWS managed key

    world.reconcile(arn)

    key_arn = world.kms_key_id(arn)
    assert key_arn.startswith("arn:aws:kms:eu-west-1:123456789012:key/")
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})
    (move,) = calls.named("UpdateSecret")
    sent = {name: value for name, value in move.arguments.items() if name != "ClientRequestToken"}  # botocore's own
    assert sent == {"SecretId": arn, "KmsKeyId": key_arn}, "only the key changes, never the value"
    assert versions(world, arn) == before
    assert world.secret_value(arn) == "current-value"
    previous = world.secretsmanager.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"]
    assert previous == "first-value"
    assert not {"GetSecretValue", "BatchGetSecretValue", "PutSecretValue"} & {c.operation for c in calls.calls}
