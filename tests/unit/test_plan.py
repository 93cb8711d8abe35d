"""Planning: from what was read to the exact changes, without AWS."""

import json

from secretshare.domain.consumers import audiences
from secretshare.domain.keypolicy import account_use_statements, deny_direct_use_statement, key_grant_statement
from secretshare.domain.names import GRANTS_TAG_KEY, SHARED_KEY_TAG_VALUE, name_tag_value
from secretshare.domain.policy import consumer_policy, key_admin_statement, render, resource_grant_statements
from secretshare.domain.settings import Settings
from secretshare.domain.sharetag import ShareTag
from secretshare.reconciler.changes import DeleteParameter, PublishParameter, PutKeyPolicy, ResourcePolicyChange
from secretshare.reconciler.plan import Plan, plan_reconciliation
from secretshare.reconciler.state import KeyState, SecretState

SECRET = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/db-AbCdEf"
KEY = "arn:aws:kms:eu-west-1:111111111111:key/1234"
B = "arn:aws:iam::222222222222:root"
C = "arn:aws:iam::333333333333:role/app"
PARAMETER = "/secretshare/111111111111/eu-west-1/app/db"
SETTINGS = Settings()
ADMIN = key_admin_statement("aws", "111111111111")


def resource_policy_change(plan: Plan) -> ResourcePolicyChange | None:
    """The plan's resource-policy change, if any."""
    return next(iter(plan.of(ResourcePolicyChange)), None)


def deleted_parameters(plan: Plan) -> tuple[str, ...]:
    """The accounts whose parameter the plan deletes."""
    return tuple(change.account for change in plan.of(DeleteParameter))


def key_with(*consumers, arn=KEY, secret=SECRET, tag=SHARED_KEY_TAG_VALUE):
    """A key (tagged as one holding our statements) whose policy grants the secret to `consumers`."""
    grants = [key_grant_statement(a, [secret], "eu-west-1", "aws") for a in audiences(consumers)]
    return KeyState(arn, {"Version": "2012-10-17", "Statement": [ADMIN, *grants]}, {GRANTS_TAG_KEY: tag})


def resource_policy_with(*consumers):
    return {"Version": "2012-10-17", "Statement": resource_grant_statements(consumers)}


def published():
    return render(consumer_policy(SECRET, KEY, "eu-west-1", "aws"))


def test_a_secret_on_the_aws_managed_key_gets_a_dedicated_key_holding_the_grant():
    state = SecretState(arn=SECRET, name="app/db")
    plan = plan_reconciliation(state, ShareTag((B, C)), SETTINGS)
    assert plan.new_key.alias == "alias/secretshare/app/db"
    # Made with A's admin statement and A's own use (as the AWS managed key allowed it), tagged for the name, then
    # granted once it exists.
    use = account_use_statements("111111111111", "eu-west-1", "aws")
    assert plan.new_key.policy["Statement"] == [ADMIN, *use, deny_direct_use_statement("aws")]
    assert plan.new_key.tags == {"managed-by": "secretshare", GRANTS_TAG_KEY: name_tag_value("app/db")}
    (grant,) = plan.of(PutKeyPolicy)
    assert grant.key_arn is None and grant.region == "eu-west-1"
    assert grant.after["Statement"] == [
        ADMIN,
        *use,
        deny_direct_use_statement("aws"),
        *(key_grant_statement(audience, [SECRET], "eu-west-1", "aws") for audience in audiences([B, C])),
    ]
    assert plan.repoint_secret and plan.key_arn is None
    assert [w.account for w in plan.of(PublishParameter)] == ["222222222222", "333333333333"]
    assert resource_policy_change(plan).after == resource_policy_with(B, C)
    assert plan.grants_added == (B, C) and plan.grants_revoked == ()


def test_a_secret_already_in_sync_plans_no_write():
    state = SecretState(
        arn=SECRET,
        name="app/db",
        kms_key_id=KEY,
        key=key_with(B),
        resource_policy=resource_policy_with(B),
        parameters={"222222222222": published()},
    )
    plan = plan_reconciliation(state, ShareTag((B,)), SETTINGS)
    assert plan.is_noop, plan.describe()
    assert plan.describe() == []


def test_a_key_named_by_alias_is_repointed_to_its_full_arn():
    state = SecretState(
        arn=SECRET,
        name="app/db",
        kms_key_id="alias/app",
        key=key_with(B),
        resource_policy=resource_policy_with(B),
        parameters={"222222222222": published()},
    )
    plan = plan_reconciliation(state, ShareTag((B,)), SETTINGS)
    assert plan.repoint_secret and plan.key_arn == KEY
    assert plan.describe() == [f"move secret from key alias/app to {KEY}"]


def test_dropping_a_consumer_revokes_it_on_both_policies_and_deletes_its_parameter():
    state = SecretState(
        arn=SECRET,
        name="app/db",
        kms_key_id=KEY,
        key=key_with(B, C),
        resource_policy=resource_policy_with(B, C),
        parameters={"222222222222": published()},
    )
    plan = plan_reconciliation(state, ShareTag((B,)), SETTINGS)
    assert plan.of(PutKeyPolicy)[0].after == key_with(B).policy
    assert resource_policy_change(plan).after == resource_policy_with(B)
    assert deleted_parameters(plan) == ("333333333333",)
    assert plan.of(PublishParameter) == ()
    assert plan.grants_revoked == (C,)


def test_a_secret_scheduled_for_deletion_loses_key_grants_and_parameters_but_keeps_its_resource_policy():
    state = SecretState(
        arn=SECRET,
        name="app/db",
        pending_deletion=True,
        kms_key_id=KEY,
        key=key_with(B),
        resource_policy=None,
    )
    plan = plan_reconciliation(state, ShareTag((B,)), SETTINGS)
    assert plan.consumers == ()
    assert plan.of(PutKeyPolicy)[0].after == key_with().policy
    assert resource_policy_change(plan) is None
    assert deleted_parameters(plan) == ("222222222222",)
    assert "scheduled for deletion" in plan.notes[0]


def test_a_gone_secret_known_by_name_is_revoked_on_every_key_that_still_grants_it():
    partial = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/db"
    state = SecretState(arn=partial, name="app/db", exists=False, known_by_name=True, other_keys=(key_with(C),))
    plan = plan_reconciliation(state, ShareTag(), SETTINGS)
    assert plan.of(PutKeyPolicy)[0].after == key_with().policy
    assert deleted_parameters(plan) == ("333333333333",)
    assert resource_policy_change(plan) is None


def test_an_unreachable_consumer_is_reported_and_not_written_but_still_granted_in_a():
    state = SecretState(
        arn=SECRET,
        name="app/db",
        kms_key_id=KEY,
        key=key_with(),
        unreachable={"222222222222": "consumer account 222222222222: cannot assume the publisher role"},
    )
    plan = plan_reconciliation(state, ShareTag((B,)), SETTINGS)
    assert plan.of(PutKeyPolicy)[0].after == key_with(B).policy
    assert plan.of(PublishParameter) == ()
    assert plan.unreachable == state.unreachable


def test_a_stale_parameter_value_is_rewritten_in_place():
    state = SecretState(
        arn=SECRET,
        name="app/db",
        kms_key_id=KEY,
        key=key_with(B),
        resource_policy=resource_policy_with(B),
        parameters={"222222222222": json.dumps({"edited": "by hand"})},
    )
    plan = plan_reconciliation(state, ShareTag((B,)), SETTINGS)
    assert [(w.account, w.exists) for w in plan.of(PublishParameter)] == [("222222222222", True)]
    assert plan.consumer_document({"eu-west-1": KEY}) == published()


def test_a_parameter_that_could_not_be_deleted_is_remembered_by_a_deny_marker_on_the_key():
    state = SecretState(
        arn=SECRET, name="app/db", kms_key_id=KEY, key=key_with(B, C), resource_policy=resource_policy_with(B, C)
    )
    plan = plan_reconciliation(state, ShareTag((B,)), SETTINGS, undeletable=frozenset({"333333333333"}))
    marker = plan.of(PutKeyPolicy)[0].after["Statement"][-1]
    assert marker["Effect"] == "Deny" and marker["Principal"] == {"AWS": ["arn:aws:iam::333333333333:root"]}
    assert marker["Condition"] == {"StringEquals": {"kms:EncryptionContext:SecretARN": SECRET}}
    assert plan.grants_revoked == (C,)


def test_a_pending_cleanup_marker_makes_the_next_run_delete_the_parameter_and_drop_the_marker():
    marked = plan_reconciliation(
        SecretState(arn=SECRET, name="app/db", kms_key_id=KEY, key=key_with(B, C)),
        ShareTag((B,)),
        SETTINGS,
        undeletable=frozenset({"333333333333"}),
    ).of(PutKeyPolicy)[0]
    state = SecretState(
        arn=SECRET,
        name="app/db",
        kms_key_id=KEY,
        key=KeyState(KEY, marked.after, {GRANTS_TAG_KEY: SHARED_KEY_TAG_VALUE}),
        resource_policy=resource_policy_with(B),
        parameters={"222222222222": published()},
    )
    plan = plan_reconciliation(state, ShareTag((B,)), SETTINGS)
    assert deleted_parameters(plan) == ("333333333333",)
    assert plan.of(PutKeyPolicy)[0].after == key_with(B).policy
    assert plan.grants_revoked == ()
