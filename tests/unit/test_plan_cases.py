"""Planning cases beyond the plain share: identity, keys the secret left, untrusted parameters, rewritten
principals, adopted keys, replicas, expiry and the status value. Pure: no AWS."""

import json
from datetime import UTC, datetime, timedelta

from secretshare.domain.consumers import audiences
from secretshare.domain.keypolicy import cleanup_marker_statement, key_grant_statement
from secretshare.domain.names import GRANTS_TAG_KEY, MANAGED_BY_TAG, SHARED_KEY_TAG_VALUE, name_tag_value
from secretshare.domain.policy import consumer_policy, key_admin_statement, render, resource_grant_statement
from secretshare.domain.settings import Settings
from secretshare.domain.sharetag import RejectedEntry, ShareTag
from secretshare.reconciler.changes import DeleteParameter, PublishParameter, PutKeyPolicy, ResourcePolicyChange, TagKey
from secretshare.reconciler.plan import Plan, plan_reconciliation
from secretshare.reconciler.state import KeyState, SecretCopy, SecretState

A = "111111111111"
SECRET = f"arn:aws:secretsmanager:eu-west-1:{A}:secret:app/db-AbCdEf"
NAMESAKE = f"arn:aws:secretsmanager:eu-west-1:{A}:secret:app/db-ZyXwVu"  # recreated under the same name
REPLICA = f"arn:aws:secretsmanager:us-east-1:{A}:secret:app/db-AbCdEf"
KEY = f"arn:aws:kms:eu-west-1:{A}:key/current"
OLD_KEY = f"arn:aws:kms:eu-west-1:{A}:key/left-behind"
REPLICA_KEY = f"arn:aws:kms:us-east-1:{A}:key/replica"
B, C = "222222222222", "333333333333"
ROOT_B = f"arn:aws:iam::{B}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"
ADMIN = key_admin_statement("aws", A)
SETTINGS = Settings()
SHARED = {GRANTS_TAG_KEY: SHARED_KEY_TAG_VALUE}


def resource_policy_change(plan: Plan) -> ResourcePolicyChange | None:
    """The plan's resource-policy change, if any."""
    return next(iter(plan.of(ResourcePolicyChange)), None)


def deleted_parameters(plan: Plan) -> tuple[str, ...]:
    """The accounts whose parameter the plan deletes."""
    return tuple(change.account for change in plan.of(DeleteParameter))


def key(arn, *grants, tags=SHARED):
    return KeyState(arn, {"Version": "2012-10-17", "Statement": [ADMIN, *grants]}, tags)


def grant(consumers, secret=SECRET, region="eu-west-1"):
    """The grant of one audience (accounts, or roles by name)."""
    return key_grant_statement(consumers, [secret], region, "aws")


def grants(consumers, secret=SECRET, region="eu-west-1"):
    """The grants of a consumer set, one per audience."""
    return [grant(audience, secret, region) for audience in audiences(consumers)]


def earlier_grant(principals, secret=SECRET):
    """A grant as versions before name binding wrote it: roles as principals, beside the accounts."""
    accounts = sorted({p.split(":")[4] for p in principals})
    condition = {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com", "kms:EncryptionContext:SecretARN": secret}
    return {
        "Sid": "SecretShareDecryptWrittenBefore",
        "Effect": "Allow",
        "Principal": {"AWS": sorted(principals)},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {**condition, "aws:PrincipalAccount": accounts}},
    }


def published(secret=SECRET, key_arn=KEY):
    return render(consumer_policy(secret, key_arn, "eu-west-1", "aws"))


def shared(state_key, **fields):
    defaults = {"arn": SECRET, "name": "app/db", "kms_key_id": state_key.arn, "key": state_key}
    return SecretState(**{**defaults, **fields})


# --- identity ------------------------------------------------------------------------------------------------------


def test_a_gone_secret_named_by_its_complete_arn_leaves_the_grant_of_a_namesake_alone():
    current = key(KEY, grant([ROOT_B], NAMESAKE))
    state = SecretState(
        arn=SECRET, name="app/db", exists=False, other_keys=(current,), parameters={B: published(NAMESAKE)}
    )
    plan = plan_reconciliation(state, ShareTag(), SETTINGS)
    assert plan.is_noop, plan.describe()


def test_a_gone_secret_cleans_up_its_own_grant_but_keeps_the_parameter_a_namesake_now_owns():
    current = key(KEY, grant([ROOT_B], SECRET), *grants([ROOT_B, ROLE_C], NAMESAKE))
    state = SecretState(
        arn=SECRET, name="app/db", exists=False, other_keys=(current,), parameters={B: published(NAMESAKE)}
    )
    plan = plan_reconciliation(state, ShareTag(), SETTINGS)
    (change,) = plan.of(PutKeyPolicy)
    assert change.after["Statement"] == [ADMIN, *grants([ROOT_B, ROLE_C], NAMESAKE)]
    assert deleted_parameters(plan) == ()
    assert any("no longer describes" in note for note in plan.notes)


def test_a_name_selects_only_that_region():
    other_region = f"arn:aws:secretsmanager:us-east-1:{A}:secret:app/db-AbCdEf"
    state = SecretState(
        arn=f"arn:aws:secretsmanager:eu-west-1:{A}:secret:app/db",
        name="app/db",
        exists=False,
        known_by_name=True,
        other_keys=(key(KEY, grant([ROOT_B], other_region, "us-east-1")),),
    )
    assert plan_reconciliation(state, ShareTag(), SETTINGS).is_noop


# --- keys the secret left, and how keys are found again ----------------------------------------------------------


def test_a_key_the_secret_left_loses_our_grant_while_the_current_key_gets_it():
    state = shared(
        key(KEY),
        other_keys=(key(OLD_KEY, grant([ROOT_B])),),
        resource_policy={"Version": "2012-10-17", "Statement": [resource_grant_statement([ROOT_B])]},
        parameters={B: published()},
    )
    plan = plan_reconciliation(state, ShareTag((ROOT_B,)), SETTINGS)
    changes = {c.key_arn: c.after["Statement"] for c in plan.of(PutKeyPolicy)}
    assert changes == {KEY: [ADMIN, grant([ROOT_B])], OLD_KEY: [ADMIN]}
    assert deleted_parameters(plan) == ()


def test_a_key_about_to_hold_our_first_statement_is_tagged_before_it_and_the_key_made_for_the_secret_by_name():
    untagged = KeyState(KEY, {"Version": "2012-10-17", "Statement": [ADMIN]})
    plan = plan_reconciliation(shared(untagged), ShareTag((ROOT_B,)), SETTINGS)
    assert [(t.key_arn, t.value) for t in plan.of(TagKey)] == [(KEY, SHARED_KEY_TAG_VALUE)]
    assert plan.describe().index(f"tag key {KEY} {GRANTS_TAG_KEY}=shared") < plan.describe().index(
        next(line for line in plan.describe() if line.startswith("update key policy"))
    )
    legacy = KeyState(
        KEY,
        {"Version": "2012-10-17", "Statement": [ADMIN, grant([ROOT_B])]},
        {MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1], GRANTS_TAG_KEY: "true"},
        "secretshare: encrypts secret app/db so it can be shared across accounts",
    )
    retag = plan_reconciliation(shared(legacy, parameters={B: published()}), ShareTag((ROOT_B,)), SETTINGS)
    assert [(t.key_arn, t.value) for t in retag.of(TagKey)] == [(KEY, name_tag_value("app/db"))]


def test_the_key_made_for_the_secret_whose_alias_was_never_made_is_adopted_not_made_again():
    orphan = key(KEY, tags={MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1], GRANTS_TAG_KEY: name_tag_value("app/db")})
    state = SecretState(arn=SECRET, name="app/db", target_key=orphan, target_needs_alias=True)
    plan = plan_reconciliation(state, ShareTag((ROOT_B,)), SETTINGS)
    assert plan.new_key is None
    assert plan.copies[0].create_alias == "alias/secretshare/app/db" and plan.key_arn == KEY
    assert plan.describe()[0] == f"create alias alias/secretshare/app/db for {KEY} (a key made for this secret)"


# --- what consumer accounts hold is untrusted ----------------------------------------------------------------------


def test_garbage_in_a_revoked_consumers_parameter_does_not_stop_the_revocation():
    for garbage in ["not json", "[1, 2]", json.dumps({"Statement": ["a string", 7, {"Resource": 3}]}), ""]:
        state = shared(key(KEY, *grants([ROOT_B, ROLE_C])), parameters={B: published(), C: garbage})
        plan = plan_reconciliation(state, ShareTag((ROOT_B,)), SETTINGS)
        assert plan.of(PutKeyPolicy)[0].after["Statement"] == [ADMIN, grant([ROOT_B])], garbage
        assert deleted_parameters(plan) == ()


def test_a_grant_aws_rewrote_to_a_unique_id_is_dropped_and_its_account_still_cleaned_up():
    # As an earlier version wrote it (the role as a principal), once AWS showed the deleted role as its unique id.
    rewritten = {**earlier_grant([ROOT_B, ROLE_C]), "Principal": {"AWS": [ROOT_B, "AROAEXAMPLEUNIQUEID00"]}}
    state = shared(key(KEY, rewritten), parameters={B: published(), C: published()})
    plan = plan_reconciliation(state, ShareTag((ROOT_B,)), SETTINGS)
    assert plan.of(PutKeyPolicy)[0].after["Statement"] == [ADMIN, grant([ROOT_B])]
    assert deleted_parameters(plan) == (C,)


def test_an_account_that_cannot_be_read_keeps_a_cleanup_marker_until_it_can():
    state = shared(
        key(KEY, *grants([ROOT_B, ROLE_C])),
        parameters={B: published()},
        unreachable={C: "consumer account 333333333333: cannot assume the publisher role"},
    )
    plan = plan_reconciliation(state, ShareTag((ROOT_B,)), SETTINGS)
    assert plan.of(PutKeyPolicy)[0].after["Statement"] == [
        ADMIN,
        grant([ROOT_B]),
        cleanup_marker_statement(SECRET, "aws", [C]),
    ]
    assert deleted_parameters(plan) == ()
    assert plan.status_after == f"error 1 unreachable: {C} / ok 1 consumer"


# --- replicas, expiry, status -------------------------------------------------------------------------------------


def test_a_replica_on_the_aws_managed_key_gets_a_key_of_its_own_region_with_its_own_arn():
    replica = SecretCopy("us-east-1", REPLICA)
    state = shared(key(KEY, grant([ROOT_B])), replicas=(replica,), parameters={B: published()})
    plan = plan_reconciliation(state, ShareTag((ROOT_B,)), SETTINGS)
    (new,) = [c for c in plan.of(PutKeyPolicy) if c.key_arn is None]
    assert new.region == "us-east-1"
    assert new.after["Statement"][-1] == grant([ROOT_B], REPLICA, "us-east-1")
    assert [w.account for w in plan.of(PublishParameter)] == [B]


def test_a_replica_on_a_key_that_grants_it_is_in_sync_and_the_published_policy_names_both_regions():
    replica = SecretCopy("us-east-1", REPLICA, REPLICA_KEY, key(REPLICA_KEY, grant([ROOT_B], REPLICA, "us-east-1")))
    value = render(consumer_policy(SECRET, KEY, "eu-west-1", "aws", [(REPLICA, REPLICA_KEY, "us-east-1")]))
    state = shared(
        key(KEY, grant([ROOT_B])),
        replicas=(replica,),
        resource_policy={"Version": "2012-10-17", "Statement": [resource_grant_statement([ROOT_B])]},
        parameters={B: value},
        tags=({"Key": "share-with", "Value": B}, {"Key": "share-with-status", "Value": "ok 1 consumer"}),
    )
    assert plan_reconciliation(state, ShareTag((ROOT_B,)), SETTINGS).is_noop


def test_an_expired_share_revokes_everything_and_says_so_in_the_status():
    until = datetime(2026, 12, 1, tzinfo=UTC)
    state = shared(
        key(KEY, grant([ROOT_B])),
        parameters={B: published()},
        tags=({"Key": "share-with", "Value": B}, {"Key": "share-until", "Value": "2026-12-01"}),
    )
    plan = plan_reconciliation(state, ShareTag((ROOT_B,), until=until), SETTINGS, now=until + timedelta(seconds=1))
    assert plan.consumers == () and plan.expired
    assert plan.of(PutKeyPolicy)[0].after["Statement"] == [ADMIN]
    assert deleted_parameters(plan) == (B,)
    assert plan.status_after == "expired 2026-12-01T00:00:00Z"


def test_a_share_still_running_says_until_when_and_a_rejected_entry_comes_first():
    until = datetime(2026, 12, 31, tzinfo=UTC)
    state = shared(key(KEY, grant([ROOT_B])), parameters={B: published()}, tags=({"Key": "share-with", "Value": B},))
    bad = RejectedEntry("12345", "'12345' is not a 12-digit account id", "not-an-account")
    plan = plan_reconciliation(state, ShareTag((ROOT_B,), (bad,), until=until), SETTINGS, now=until - timedelta(days=1))
    assert plan.status_after == "error 1 rejected: 12345 not-an-account / ok 1 consumer until 2026-12-31T00:00:00Z"
