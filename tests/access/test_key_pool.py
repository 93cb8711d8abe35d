"""KEY_MODE=pool: many shared secrets on one key of secretshare's pool, each consumer reading only its own secret, a new
pool key opened when one is full, revocation and re-share in place, and an upgrade that moves no secret already shared.
Who can read is judged by iam-simulate on the policies secretshare left in moto."""

from __future__ import annotations

import dataclasses
import json
import threading

import pytest
from access import APP_OF_A, APP_POLICY, Access, policy
from support.sam import LambdaContext, sqs_batch
from support.strict import StrictAws

from secretshare import reconcile_secret
from secretshare.domain.errors import AwsCallFailed
from secretshare.domain.keypolicy import KeyGrant, for_secret_family, merge_key_policy, with_account_use
from secretshare.domain.keypool import POOL_FILL_BYTES, policy_bytes
from secretshare.domain.names import FULL_POOL_KEY_TAG_VALUE, GRANTS_TAG_KEY, POOL_KEY_TAG_VALUE
from secretshare.domain.policy import KEY_POLICY_MAX_BYTES, key_admin_statement
from secretshare.domain.settings import KEY_MODE_POOL
from secretshare.gateway import Clients
from secretshare.reconciler.sweep import sweep, sweep_message

B = "222222222222"
C = "333333333333"
READER_B = f"arn:aws:iam::{B}:role/reader"
READER_C = f"arn:aws:iam::{C}:role/reader"
ROOT_B = f"arn:aws:iam::{B}:root"
ROOT_C = f"arn:aws:iam::{C}:root"
EVERYTHING = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})


def grants_tag(world, key_id: str) -> str | None:
    tags = world.kms.list_resource_tags(KeyId=key_id)["Tags"]
    return {tag["TagKey"]: tag["TagValue"] for tag in tags}.get(GRANTS_TAG_KEY)


def hand_grant(world, secret_arn: str, account: str) -> None:
    """A statement someone wrote by hand on the secret: any principal of `account` may read it."""
    world.put_resource_policy(
        secret_arn,
        policy(
            {
                "Sid": "ByHand",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ),
    )


def two_pooled_secrets(world) -> tuple[str, str]:
    """payments/db shared with B and billing/db with C's reader, reconciled in that order: both on one pool key."""
    payments = world.create_secret("payments/db", B)
    billing = world.create_secret("billing/db", READER_C)
    world.reconcile(payments)
    world.reconcile(billing)
    return payments, billing


def test_two_secrets_on_one_pool_key_are_each_read_only_by_their_own_consumers(world, iam):
    payments, billing = two_pooled_secrets(world)

    key = world.kms_key_id(payments)
    assert key and world.kms_key_id(billing) == key, "both secrets on the one pool key"
    assert world.key_count() == 1 and world.aliases() == {}, "a pool key has no alias and serves both"
    assert grants_tag(world, key) == POOL_KEY_TAG_VALUE
    mine, theirs = Access(iam, world, payments), Access(iam, world, billing)
    assert mine.read(READER_B, mine.published_policy(B)).allowed
    assert theirs.read(READER_C, theirs.published_policy(C)).allowed
    assert not theirs.read(READER_B, EVERYTHING).allowed
    assert not mine.read(READER_C, EVERYTHING).allowed
    # Even a resource policy that lets B in by mistake does not: B's grant on the pool key names payments/db only.
    hand_grant(world, billing, B)
    judged = theirs.read(READER_B, EVERYTHING)
    assert not judged.allowed, judged.explanation
    # Account A's own readers keep reading both, as they did on the AWS managed key.
    assert mine.read(APP_OF_A, APP_POLICY).allowed and theirs.read(APP_OF_A, APP_POLICY).allowed


def test_a_revocation_and_a_reshare_on_a_pool_key_touch_only_that_secret(world, iam):
    payments, billing = two_pooled_secrets(world)
    key = world.kms_key_id(payments)
    billing_grants = world.key_grants_for(world.key_policy(key), billing)

    world.untag(payments)
    world.reconcile(payments)

    mine, theirs = Access(iam, world, payments), Access(iam, world, billing)
    assert world.key_grants_for(world.key_policy(key), payments) == []
    assert not mine.read(READER_B, EVERYTHING).allowed
    assert world.parameters_for(B, payments) == []
    assert world.key_grants_for(world.key_policy(key), billing) == billing_grants, "the other grant, byte for byte"
    assert theirs.read(READER_C, theirs.published_policy(C)).allowed
    assert world.kms_key_id(payments) == key, "an unshared secret stays where it is"

    world.tag(payments, B)
    world.reconcile(payments)

    assert world.kms_key_id(payments) == key and world.key_count() == 1, "re-shared on the same key, nothing moved"
    assert mine.read(READER_B, mine.published_policy(B)).allowed
    assert theirs.read(READER_C, theirs.published_policy(C)).allowed
    assert not theirs.read(READER_B, EVERYTHING).allowed


def consumer_of(number: int) -> str:
    """The first of the three consumer accounts of secret `number`."""
    return str(400_000_000_000 + 3 * number)


def reader_of(number: int) -> str:
    return f"arn:aws:iam::{consumer_of(number)}:role/reader"


def distinct_consumers(number: int) -> str:
    """Three consumer accounts no other secret of the test has (the figure of issue 21: 3 consumers each, distinct)."""
    return " ".join(str(int(consumer_of(number)) + offset) for offset in range(3))


def test_a_full_pool_key_is_tagged_full_a_new_one_opens_a_grown_grant_moves_and_an_emptied_key_is_reused(
    world, iam, strict_aws
):
    first_key, secrets = None, []
    while True:  # share secrets of distinct consumers until one lands on a second pool key
        arn = world.create_secret(f"team/secret-{len(secrets)}", distinct_consumers(len(secrets)))
        world.reconcile(arn)
        strict_aws.time_passes()  # the tagging index shows the pool keys' tags (docs/aws-facts.md §11)
        first_key = first_key or world.kms_key_id(arn)
        if world.kms_key_id(arn) != first_key:
            break
        secrets.append(arn)
        assert len(secrets) < 200, "the pool key never filled"
    opened = arn

    full = world.key_policy(first_key)
    assert POOL_FILL_BYTES - 1024 < policy_bytes(full) <= POOL_FILL_BYTES < KEY_POLICY_MAX_BYTES
    assert len(secrets) >= 55, "a pool key holds about 60 secrets of three distinct consumer accounts each"
    assert grants_tag(world, first_key) == FULL_POOL_KEY_TAG_VALUE
    assert grants_tag(world, world.kms_key_id(opened)) == POOL_KEY_TAG_VALUE
    assert world.key_count() == 2
    # Every secret is still read by its own consumers, and by nobody else's.
    newest_reader = reader_of(len(secrets))
    for number in (0, len(secrets) - 1):
        access = Access(iam, world, secrets[number])
        assert access.read(reader_of(number), access.published_policy(consumer_of(number))).allowed
        assert not access.read(newest_reader, EVERYTHING).allowed
    newest = Access(iam, world, opened)
    assert newest.read(newest_reader, newest.published_policy(consumer_of(len(secrets)))).allowed
    assert not newest.read(reader_of(0), EVERYTHING).allowed

    # A grant that outgrows the room left on its key moves its secret, and only it, to a pool key with room.
    grown = secrets[1]
    for tag in range(5):  # 80 accounts, 16 to a tag (a tag value holds 256 characters)
        accounts = (str(500_000_000_000 + 16 * tag + number) for number in range(16))
        world.tag(grown, " ".join(accounts), key="share-with" if tag == 0 else f"share-with/more-{tag}")
    moved = world.reconcile(grown)
    assert world.kms_key_id(grown) not in (None, first_key), moved.changes
    assert world.key_grants_for(world.key_policy(first_key), grown) == []
    assert world.key_grants_for(world.key_policy(first_key), secrets[2]) != []
    access = Access(iam, world, grown)
    assert access.read("arn:aws:iam::500000000079:role/reader", access.published_policy("500000000079")).allowed
    assert not access.read(reader_of(1), EVERYTHING).allowed, "its former consumers are gone from the tag"
    assert world.secret_value(grown) == "s3cr3t-value"

    for arn in (*secrets[:1], *secrets[2:6]):  # shares end: the full key has room again
        world.untag(arn)
        world.reconcile(arn)
    strict_aws.time_passes()
    assert grants_tag(world, first_key) == POOL_KEY_TAG_VALUE
    # The new key is not filled before the one reopened: both are open, and the first in ARN order takes the next.
    later = world.create_secret("team/later", distinct_consumers(999))
    world.reconcile(later)
    assert world.kms_key_id(later) in (first_key, world.kms_key_id(opened))
    assert world.key_count() == 2, "no third key while the open ones have room"


def test_an_upgrade_to_the_pool_leaves_every_secret_already_shared_on_its_dedicated_key(world, iam, dedicated_keys):
    shared = world.create_secret("payments/db", B)
    world.reconcile(shared)
    dedicated = world.kms_key_id(shared)
    assert world.aliases() == {"alias/secretshare/payments/db": world.key_arn(dedicated).split("/")[-1]}

    world.settings = dataclasses.replace(world.settings, key_mode=KEY_MODE_POOL)  # the stack's update
    unchanged = world.reconcile(shared)
    world.tag(shared, f"{B} {READER_C}")
    widened = world.reconcile(shared)
    newcomer = world.create_secret("billing/db", B)
    world.reconcile(newcomer)

    assert unchanged.changes == []
    assert world.kms_key_id(shared) == dedicated, "never moved: a move re-encrypts its versions"
    assert not any("move" in change for change in widened.changes), widened.changes
    assert world.kms_key_id(newcomer) not in (None, dedicated)
    assert grants_tag(world, world.kms_key_id(newcomer)) == POOL_KEY_TAG_VALUE
    access = Access(iam, world, shared)
    assert access.read(READER_C, access.published_policy(C)).allowed
    assert access.read(READER_B, access.published_policy(B)).allowed


def test_a_pooled_secret_moved_away_by_hand_loses_its_grant_on_the_pool_key(world, iam):
    moved, staying = two_pooled_secrets(world)
    pool_key = world.kms_key_id(moved)
    team_key = world.create_key()["Arn"]

    world.secretsmanager.update_secret(SecretId=moved, KmsKeyId=team_key)
    world.reconcile(moved)

    assert world.key_grants_for(world.key_policy(pool_key), moved) == []
    assert world.key_grants_for(world.key_policy(team_key), moved) != []
    access = Access(iam, world, moved)
    assert access.read(READER_B, access.published_policy(B)).allowed
    assert world.key_grants_for(world.key_policy(pool_key), staying) != []


@pytest.mark.parametrize("by", ["reconcile", "sweep"])
def test_a_deleted_pooled_secret_loses_its_grant_and_parameter(world, by):
    gone, staying = two_pooled_secrets(world)
    pool_key = world.kms_key_id(gone)

    world.secretsmanager.delete_secret(SecretId=gone, ForceDeleteWithoutRecovery=True)
    if by == "reconcile":
        world.reconcile(gone)
    else:
        report = sweep(settings=world.settings, session=world.session)
        assert gone in report.drifted
        world.reconcile(gone)

    assert world.key_grants_for(world.key_policy(pool_key), gone) == []
    assert world.parameters_for(B, gone) == []
    assert world.key_grants_for(world.key_policy(pool_key), staying) != []


def test_a_second_run_on_a_pool_key_writes_nothing_and_reads_little(world, calls, strict_aws: StrictAws):
    arn = world.create_secret("payments/db", f"{B} {READER_C}")
    world.reconcile(arn)
    calls.clear()
    strict_aws.time_passes()

    result = world.reconcile(arn)

    assert result.changes == [] and calls.writes() == []
    reads = [call.operation for call in calls.reads_in(world.producer)]
    # The secret, its key and policy, the tagging query for other keys of its name, the key's own tags (a pool key
    # is not among them), and the resource policy.
    assert len(reads) <= 6, reads
    assert json.dumps(reads).count("GetKeyPolicy") == 1


def test_a_grant_a_stopped_run_left_on_a_pool_key_is_revoked_by_the_sweeps_request(
    world, faults, reconcile_app, default_session, monkeypatch
):
    monkeypatch.setenv("ALLOWED_CONSUMERS", "any")
    staying = world.create_secret("billing/db", READER_C)
    world.reconcile(staying)
    pool_key = world.key_arn(world.kms_key_id(staying))
    left = world.create_secret("payments/db", B)
    crash = faults.fail("secretsmanager.UpdateSecret", "SimulatedCrash", "the run stopped here", attempts=None)
    with pytest.raises(AwsCallFailed):
        world.reconcile(left)  # its grant is on the pool key, the secret still on the AWS managed key
    faults.remove(crash)
    assert world.key_grants_for(world.key_policy(pool_key), left) != []
    world.untag(left)  # nothing names the pool key for it now but the pool key's own policy

    check = next(c for c in sweep(settings=world.settings, session=world.session).checks if c.arn == left)
    assert check.drifted and pool_key in check.keys_naming
    response = reconcile_app.handler(sqs_batch(sweep_message(left, check.keys_naming)), LambdaContext())

    assert response == {"batchItemFailures": []}
    assert world.key_grants_for(world.key_policy(pool_key), left) == []
    assert world.key_grants_for(world.key_policy(pool_key), staying) != []


def pool_key_policy(world, fill_to: int = 0) -> dict:
    """A pool key's policy as secretshare makes it, filled with grants of other secrets to `fill_to` bytes."""
    admin = {"Version": "2012-10-17", "Statement": [key_admin_statement("aws", world.producer)]}
    policy = with_account_use(admin, account=world.producer, region=world.region, partition="aws", made_by_us=True)
    number = 0
    while policy_bytes(policy) < fill_to:
        arn = f"arn:aws:secretsmanager:{world.region}:{world.producer}:secret:filler/{number:03d}-AbCdEf"
        grant = KeyGrant(arn, (f"arn:aws:iam::{600_000_000_000 + number}:root",))
        policy = merge_key_policy(policy, for_secret_family(arn), region=world.region, partition="aws", grant=grant)
        number += 1
    return policy


def test_a_reconciliation_that_turns_to_another_pool_key_after_waiting_writes_it_from_a_fresh_read(world, strict_aws):
    """Y reads both open pool keys; meanwhile X takes P's last room and Z changes its grant on Q. Y, finding P full
    when it gets P's lock, turns to Q: it must write Q from a read made after Z's write, or Z's change is lost."""
    # The session's hooks reach the clients made after them: registered first. They pause Y alone.
    y_read_q, go_on = threading.Event(), threading.Event()
    reading = threading.local()

    def note_y_reads_q(params, **_):
        reading.q = threading.current_thread().name == "Y" and params.get("KeyId") == pools[1]

    def pause_y_once_it_read_q(**_):
        if getattr(reading, "q", False) and not y_read_q.is_set():
            y_read_q.set()
            go_on.wait(timeout=30)

    world.session.events.register("before-parameter-build.kms.GetKeyPolicy", note_y_reads_q)
    world.session.events.register("after-call.kms.GetKeyPolicy", pause_y_once_it_read_q)
    tags = [{"TagKey": "managed-by", "TagValue": "secretshare"}, {"TagKey": GRANTS_TAG_KEY, "TagValue": "pool"}]
    pools = sorted(world.kms.create_key(Tags=tags)["KeyMetadata"]["Arn"] for _ in range(2))
    pool_p, pool_q = pools  # the planner tries pool keys in ARN order: P first
    world.kms.put_key_policy(KeyId=pool_p, PolicyName="default", Policy=json.dumps(pool_key_policy(world, 29_900)))
    world.kms.put_key_policy(KeyId=pool_q, PolicyName="default", Policy=json.dumps(pool_key_policy(world)))
    z = world.create_secret("team/z", B, kms_key_id=pool_q)
    world.reconcile(z)
    x, y = world.create_secret("team/x", C), world.create_secret("team/y", f"{B} {C}")
    strict_aws.time_passes()  # the tagging index shows both pool keys
    clients = Clients(world.session)
    failures: list[BaseException] = []

    def reconcile_y() -> None:
        try:
            reconcile_secret(y, settings=world.settings, clients=clients)
        except BaseException as err:  # reported below, with the assertions
            failures.append(err)

    reconciling_y = threading.Thread(target=reconcile_y, name="Y")
    reconciling_y.start()
    assert y_read_q.wait(timeout=30), failures
    reconcile_secret(x, settings=world.settings, clients=clients)  # takes P's last room
    world.tag(z, f"{B} {C}")
    reconcile_secret(z, settings=world.settings, clients=clients)  # rewrites its grant on Q
    go_on.set()
    reconciling_y.join(timeout=60)

    assert failures == []
    assert world.kms_key_id(x) == pool_p and world.kms_key_id(y) == pool_q
    q_policy = world.key_policy(pool_q)
    assert world.sharing(z).key_grantees == {ROOT_B, ROOT_C}, "Z's change on Q was kept"
    assert world.sharing(y).key_grantees == {ROOT_B, ROOT_C}
    assert world.key_grants_for(q_policy, z) and world.key_grants_for(q_policy, y)
