"""A run that dies between two writes leaves nothing granted that the tag does not ask for, and the next run
finishes the job.

The run is stopped by making a write fail on every attempt (Secrets Manager or SSM down), after the writes that
come before it went through: after the key policy, before the resource policy; after A's writes, before the
consumers' parameters.
"""

from __future__ import annotations

import pytest
from checks import (
    ROLE_C,
    ROOT_B,
    ROOT_D,
    B,
    C,
    D,
    assert_grants_nothing_beyond,
    assert_shared_exactly,
    readers,
)

from secretshare import ReconcileFailed
from secretshare.domain.errors import AwsCallFailed

NAME = "app/db-password"


def crash_at_resource_policy(faults):
    return faults.fail(
        "secretsmanager.PutResourcePolicy", "InternalServiceError", "An error occurred on the server side.", status=500
    )


def crash_at_parameters(faults):
    return faults.fail("ssm.PutParameter", "InternalServerError", "An error occurred on the server side.", status=500)


def test_grant_interrupted_after_the_key_policy_grants_nothing_beyond_the_tag_and_the_next_run_converges(
    world, faults, calls
):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    crash = crash_at_resource_policy(faults)

    with pytest.raises(AwsCallFailed, match="secretsmanager:PutResourcePolicy failed: InternalServiceError"):
        world.reconcile(arn)

    assert calls.named("CreateKey") and calls.named("PutResourcePolicy"), "the run died between the two writes"
    assert world.sharing(arn).key_grantees == {ROOT_B, ROLE_C}
    assert_grants_nothing_beyond(world, arn, {ROOT_B, ROLE_C})
    faults.remove(crash)
    world.reconcile(arn)
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})


def test_revocation_interrupted_after_the_key_policy_leaves_the_revoked_consumer_unable_to_read(world, faults, calls):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.reconcile(arn)
    world.tag(arn, ROLE_C)
    crash = crash_at_resource_policy(faults)
    calls.clear()

    with pytest.raises(AwsCallFailed, match="secretsmanager:PutResourcePolicy failed: InternalServiceError"):
        world.reconcile(arn)

    assert [c.operation for c in calls.writes()][:2] == ["DeleteParameter", "PutKeyPolicy"]
    sharing = world.sharing(arn)
    # B's parameter is gone and the key no longer lets B decrypt: B cannot read the secret, although the
    # resource policy, whose write failed, still names it until the next run.
    assert sharing.parameter_accounts == {C}
    assert sharing.key_grantees == {ROLE_C}
    assert readers(world, arn) <= {ROLE_C}
    faults.remove(crash)
    world.reconcile(arn)
    assert_shared_exactly(world, arn, {ROLE_C})


def test_grant_interrupted_after_as_writes_publishes_nothing_beyond_the_tag_and_the_next_run_converges(world, faults):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    crash = crash_at_parameters(faults)

    with pytest.raises(ReconcileFailed) as failed:
        world.reconcile(arn)

    assert accounts_of_failures(failed.value) == {B, C}
    assert world.sharing(arn).parameter_accounts == set()
    assert_grants_nothing_beyond(world, arn, {ROOT_B, ROLE_C})
    faults.remove(crash)
    world.reconcile(arn)
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})


def test_change_of_consumers_interrupted_before_the_new_parameter_grants_nothing_beyond_the_tag(world, faults):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.reconcile(arn)
    world.tag(arn, f"{ROLE_C} {D}")  # revoke B, add D
    crash = crash_at_parameters(faults)

    with pytest.raises(ReconcileFailed, match=D):
        world.reconcile(arn)

    assert_grants_nothing_beyond(world, arn, {ROLE_C, ROOT_D})
    assert world.sharing(arn, (B, C, D)).parameter_accounts == {C}
    faults.remove(crash)
    world.reconcile(arn)
    assert_shared_exactly(world, arn, {ROLE_C, ROOT_D})


def accounts_of_failures(error: ReconcileFailed) -> set[str]:
    return {account for failure in error.failures for account in (B, C, D) if f"consumer account {account}" in failure}
