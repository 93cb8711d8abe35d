"""The sweep finds every secret that needs a look: tagged ones, and ones our keys still grant on."""

import dataclasses

from secretshare.reconciler.sweep import secrets_to_reconcile
from secretshare.reconciler.sweep import sweep as run_sweep

B = "222222222222"


def sweep(world):
    return secrets_to_reconcile(settings=world.settings, session=world.session)


def test_sweep_lists_tagged_secrets_including_ones_tagged_only_with_an_extra_share_tag(world):
    tagged = world.create_secret("app/tagged", B)
    extra_only = world.create_secret("app/extra", tags={"share-with/extra": B})
    empty_tag = world.create_secret("app/empty", "")
    world.create_secret("app/untagged")
    world.create_secret("app/lookalike", tags={"share-without": B})

    assert sweep(world) == sorted([tagged, extra_only, empty_tag])


def test_sweep_lists_a_tagged_secret_scheduled_for_deletion(world):
    arn = world.create_secret("app/doomed", B)
    world.secretsmanager.delete_secret(SecretId=arn, RecoveryWindowInDays=7)

    assert sweep(world) == [arn]


def test_sweep_lists_an_untagged_secret_whose_grant_lingers_on_its_key(world):
    arn = world.create_secret("app/db-password", B)
    world.reconcile(arn)
    world.untag(arn)

    assert sweep(world) == [arn]


def test_sweep_lists_a_force_deleted_secret_whose_grant_lingers_on_its_key(world):
    arn = world.create_secret("app/db-password", B)
    world.reconcile(arn)
    world.secretsmanager.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)

    assert sweep(world) == [arn]


def test_sweep_lists_an_untagged_secret_whose_grant_lingers_on_the_shared_key(world):
    key = world.create_key()
    world.settings = dataclasses.replace(world.settings, shared_key_arn=key["Arn"])
    arn = world.create_secret("app/db-password", B)
    world.reconcile(arn)
    world.untag(arn)

    assert sweep(world) == [arn]


def test_sweep_lists_an_untagged_secret_whose_grants_linger_on_its_own_customer_key(world):
    # Tag events are best effort, so an untag can go unseen; the sweep is what catches it.
    key = world.create_key()
    arn = world.create_secret("app/db-password", B, kms_key_id=key["KeyId"])
    world.reconcile(arn)
    world.untag(arn)

    assert sweep(world) == [arn]


def test_sweep_forgets_a_secret_once_reconciliation_revoked_its_grants(world):
    untagged = world.create_secret("app/untagged-later", B)
    deleted = world.create_secret("app/deleted-later", B)
    for arn in (untagged, deleted):
        world.reconcile(arn)
    world.untag(untagged)
    world.secretsmanager.delete_secret(SecretId=deleted, ForceDeleteWithoutRecovery=True)

    for arn in sweep(world):
        world.reconcile(arn)

    assert sweep(world) == []


def report(world):
    return run_sweep(settings=world.settings, session=world.session)


def test_a_sweep_of_secrets_in_sync_reports_nothing_to_reconcile_and_writes_nothing(world, calls, strict_aws):
    arns = [world.create_secret(f"app/s{i}", f"{B} arn:aws:iam::333333333333:role/app") for i in range(3)]
    world.create_secret("app/never-shared")
    for arn in arns:
        world.reconcile(arn)
    calls.clear()
    strict_aws.time_passes()  # the hourly sweep: the tagging index has caught up

    found = report(world)

    assert found.checked == tuple(sorted(arns)) and found.to_reconcile == ()
    assert calls.writes() == []
    per_secret = [c for c in calls.calls if c.operation not in ("ListSecrets", "GetResources", "AssumeRole")]
    # DescribeSecret (ListSecrets shows no replicas), the resource policy, key metadata and policy; one parameter
    # read per consumer account.
    assert len(per_secret) <= len(arns) * (4 + 2), [f"{c.service}.{c.operation}" for c in per_secret]
    # A publisher role is assumed once per process while its credentials last: here the reconciliations did.
    assert len(calls.named("AssumeRole")) <= 2, "at most one assumed-role session per consumer account"
    keys = {world.kms_key_id(arn) for arn in arns}  # one pool key for all three
    assert len(calls.named("GetKeyPolicy")) == len(keys) == 1, "one key-policy read per key per sweep"


def test_a_sweep_reports_drift_and_lingering_grants_for_reconciliation(world):
    drifted = world.create_secret("app/drifted", B)
    untagged = world.create_secret("app/untagged", B)
    in_sync = world.create_secret("app/in-sync", B)
    for arn in (drifted, untagged, in_sync):
        world.reconcile(arn)
    world.ssm(B).delete_parameter(Name="/secretshare/123456789012/eu-west-1/app/drifted")
    world.untag(untagged)

    assert report(world).to_reconcile == tuple(sorted([drifted, untagged]))
