"""What a reconciliation costs in AWS calls: nothing to change means no write and few reads; dry runs never write.

Reading in A: the secret, its resource policy, its key's metadata and policy, and one tagging-API query that finds
every other key that may hold our statements for it (so grants on a key the secret left are revoked, whatever
the consumer accounts say). Then one parameter read per consumer account.
"""

import pytest

# What these count and name is the dedicated key of each secret (the pool has its own: test_key_pool.py).
pytestmark = pytest.mark.usefixtures("dedicated_keys")

B = "222222222222"
C = "333333333333"
ROLE_C = f"arn:aws:iam::{C}:role/app"
PRODUCER = "123456789012"
PARAMETER = "/secretshare/123456789012/eu-west-1/app/db-password"


def dedicated_key_secret(world):
    return world.create_secret("app/db-password", f"{B} {ROLE_C}")


def existing_key_secret(world):
    key = world.create_key()
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}", kms_key_id=key["KeyId"])
    world.put_resource_policy(
        arn,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "BackupReads",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::555555555555:role/backup"},
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ],
        },
    )
    return arn


@pytest.mark.parametrize("make_secret", [dedicated_key_secret, existing_key_secret], ids=["dedicated", "existing"])
def test_second_run_makes_no_write_and_at_most_five_reads_in_the_producer_plus_one_per_consumer(
    world, calls, strict_aws, make_secret
):
    arn = make_secret(world)
    world.reconcile(arn)
    assert calls.writes(), "the first run must write (otherwise the counter sees nothing)"
    calls.clear()
    strict_aws.time_passes()  # the steady state: the tagging index shows the key's tag

    result = world.reconcile(arn)

    assert calls.writes() == []
    assert len(calls.reads_in(PRODUCER)) <= 5, calls.reads_in(PRODUCER)
    assert len(calls.reads_in(B)) <= 1, calls.reads_in(B)
    assert len(calls.reads_in(C)) <= 1, calls.reads_in(C)
    assert {call.account for call in calls.calls} <= {PRODUCER, B, C}
    assert result.changes == []


def test_second_run_after_untag_makes_no_write(world, calls):
    arn = dedicated_key_secret(world)
    world.reconcile(arn)
    world.untag(arn)
    world.reconcile(arn)
    calls.clear()

    result = world.reconcile(arn)

    assert calls.writes() == []
    assert len(calls.reads_in(PRODUCER)) <= 5, calls.reads_in(PRODUCER)
    assert result.changes == []


def test_dry_run_makes_no_write_and_lists_what_would_be_done(world, calls):
    arn = dedicated_key_secret(world)

    result = world.reconcile(arn, dry_run=True)

    assert calls.writes() == []
    assert result.applied is False
    changes = "\n".join(result.changes)
    assert "alias/secretshare/app/db-password" in changes
    assert any(B in line and PARAMETER in line for line in result.changes), changes
    assert any(C in line and PARAMETER in line for line in result.changes), changes
    assert any("resource policy" in line for line in result.changes), changes
    assert len(result.changes) >= 5, changes  # create key, move the secret, resource policy, two parameters
    assert world.aliases() == {}
    assert world.kms_key_id(arn) is None
    assert world.resource_policy(arn) is None
    assert world.parameter(B, PARAMETER) is None
    assert world.parameter(C, PARAMETER) is None


def test_dry_run_of_an_untag_lists_the_revocations_without_writing(world, calls):
    arn = dedicated_key_secret(world)
    world.reconcile(arn)
    before = world.sharing(arn)
    world.untag(arn)
    calls.clear()

    result = world.reconcile(arn, dry_run=True)

    assert calls.writes() == []
    changes = "\n".join(result.changes)
    assert any(f"arn:aws:iam::{B}:root" in line and ROLE_C in line for line in result.changes), changes
    assert any(B in line and PARAMETER in line for line in result.changes), changes
    assert any(C in line and PARAMETER in line for line in result.changes), changes
    assert world.sharing(arn) == before


@pytest.mark.parametrize("make_secret", [dedicated_key_secret, existing_key_secret], ids=["dedicated", "existing"])
def test_a_run_right_after_while_the_tagging_index_lags_reads_the_keys_own_tags_and_writes_nothing(
    world, calls, make_secret
):
    arn = make_secret(world)
    world.reconcile(arn)
    calls.clear()

    result = world.reconcile(arn)

    assert calls.writes() == [] and result.changes == []
    reads = [call.operation for call in calls.reads_in(PRODUCER)]
    assert len(reads) <= 6 and reads.count("ListResourceTags") == 1, reads


def test_a_new_share_with_one_consumer_costs_at_most_twelve_calls_including_the_key_move_and_status(world, calls):
    """Reads: secret, alias, tagged keys, resource policy. Writes: key, alias, its grant (a separate write, so KMS
    refusing a principal has a key to be asked about), move, resource policy, parameter, status. Plus AssumeRole.
    KMS may not find a key it just made (eventual consistency, as the strict layer answers): the alias is tried once
    more, a call on top of the twelve."""
    arn = world.create_secret("app/db-password", B)

    world.reconcile(arn)

    retried = len(calls.named("CreateAlias")) - 1
    assert retried == 1, "KMS answered NotFound once about the key it just made, and the alias was tried again"
    assert len(calls.calls) - retried <= 12, [f"{c.service}.{c.operation}" for c in calls.calls]
    assert world.parameter(B, PARAMETER) is not None


def test_revoking_a_consumer_costs_at_most_ten_calls_including_the_status_tag(world, calls):
    """The parameter is read before it is deleted: it is deleted only if it still describes this secret."""
    arn = world.create_secret("app/db-password", B)
    world.reconcile(arn)
    world.untag(arn)
    calls.clear()

    world.reconcile(arn)

    assert len(calls.calls) <= 10, [f"{c.service}.{c.operation}" for c in calls.calls]
    assert world.parameter(B, PARAMETER) is None
    assert world.resource_policy(arn) is None


def test_a_new_key_overwrites_a_parameter_left_from_an_earlier_secret_of_the_same_name(world):
    first = world.create_secret("app/db-password", B)
    world.reconcile(first)
    world.secretsmanager.delete_secret(SecretId=first, ForceDeleteWithoutRecovery=True)
    world.kms.delete_alias(AliasName="alias/secretshare/app/db-password")
    second = world.create_secret("app/db-password", B)

    world.reconcile(second)

    published = world.parameter(B, PARAMETER)["Value"]
    assert second in published
    assert world.kms_key_id(second) in published
