"""The pool in the planner, without AWS: a grant that outgrows its pool key moves its secret, and only a pool key's."""

import pytest

from secretshare.domain.errors import PolicyTooLarge
from secretshare.domain.keypolicy import KeyGrant, for_secret_family, merge_key_policy, with_account_use
from secretshare.domain.keypool import policy_bytes
from secretshare.domain.names import GRANTS_TAG_KEY, MANAGED_BY_TAG, POOL_KEY_TAG_VALUE, name_tag_value
from secretshare.domain.policy import KEY_POLICY_MAX_BYTES, key_admin_statement
from secretshare.domain.settings import Settings
from secretshare.domain.sharetag import ShareTag
from secretshare.reconciler.changes import CreateKey, MoveSecret, PutKeyPolicy
from secretshare.reconciler.plan import plan_reconciliation
from secretshare.reconciler.state import KeyState, SecretState

ACCOUNT = "111111111111"
SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:app/db-AbCdEf"
POOL_P = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/pool-p"
POOL_Q = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/pool-q"
B = "arn:aws:iam::222222222222:root"
MANY = tuple(f"arn:aws:iam::{500_000_000_000 + n}:root" for n in range(80))
POOL_TAGS = {MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1], GRANTS_TAG_KEY: POOL_KEY_TAG_VALUE}


def granted(policy: dict, secret: str, consumers: tuple[str, ...]) -> dict:
    grant = KeyGrant(secret, consumers)
    return merge_key_policy(policy, for_secret_family(secret), region="eu-west-1", partition="aws", grant=grant)


def pool_key(arn: str, fill_to: int = 0, tags: dict | None = None) -> KeyState:
    """A key of the pool (or, with `tags`, another) granting this secret to B, filled with others' grants."""
    admin = {"Version": "2012-10-17", "Statement": [key_admin_statement("aws", ACCOUNT)]}
    policy = with_account_use(admin, account=ACCOUNT, region="eu-west-1", partition="aws", made_by_us=True)
    policy = granted(policy, SECRET, (B,))
    number = 0
    while policy_bytes(policy) < fill_to:
        policy = granted(policy, f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:f/{number:03d}-AbCdEf", (B,))
        number += 1
    return KeyState(arn, policy, POOL_TAGS if tags is None else tags)


def plan_for(key: KeyState, pool_keys: tuple[KeyState, ...] | None = None):
    state = SecretState(arn=SECRET, name="app/db", kms_key_id=key.arn, key=key, pool_keys=pool_keys)
    return plan_reconciliation(state, ShareTag((B, *MANY)), Settings())


def test_a_grant_that_outgrows_its_pool_key_moves_the_secret_to_a_new_pool_key_and_leaves_the_old_one():
    full = pool_key(POOL_P, fill_to=KEY_POLICY_MAX_BYTES - 1500)

    plan = plan_for(full)  # no other pool key read: the key filled after the read (another secret's grant)

    (new,) = plan.of(CreateKey)
    assert new.alias is None and new.tags == POOL_TAGS
    (move,) = plan.of(MoveSecret)
    assert (move.previous_key_id, move.key_arn) == (POOL_P, None)
    left = next(change for change in plan.of(PutKeyPolicy) if change.key_arn == POOL_P)
    assert SECRET not in str(left.after) and B in left.granted_before and not left.granted_after


def test_a_grant_that_outgrows_its_pool_key_moves_to_an_open_pool_key_with_room():
    plan = plan_for(pool_key(POOL_P, fill_to=KEY_POLICY_MAX_BYTES - 1500), (pool_key(POOL_Q),))

    assert plan.of(CreateKey) == ()
    (move,) = plan.of(MoveSecret)
    assert (move.previous_key_id, move.key_arn) == (POOL_P, POOL_Q)
    grant = next(change for change in plan.of(PutKeyPolicy) if change.key_arn == POOL_Q)
    assert set(grant.granted_after) == {B, *MANY}


def test_a_key_of_the_secrets_own_is_never_left_its_write_is_refused_and_says_why():
    own = pool_key(POOL_P, fill_to=KEY_POLICY_MAX_BYTES - 1500, tags={GRANTS_TAG_KEY: name_tag_value("app/db")})

    with pytest.raises(PolicyTooLarge, match="key policy"):
        plan_for(own)
