"""The reconcile function reconciles the secrets of a batch at once (issue 20), and still: no two reconciliations
edit one key policy at once, one secret's records run in their order, and a secret that fails holds only its own
records back.

Each batch goes through the handler as Lambda delivers it. Hooks on the handlers' boto3 session only shape the timing
(the window between reading a key policy and writing it back, the moment a person edits a tag): every answer is
moto's, behind the strict AWS layer. Who reads what is the evaluator's verdict on the policies AWS then holds.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
from access import ADMIN_POLICY, Access
from support.sam import LambdaContext, load_sample, sqs_batch

from secretshare.domain.consumers import audiences

B = "222222222222"
C = "333333333333"
D = "444444444444"
APP_C = f"arn:aws:iam::{C}:role/app"
# One reader per grant a tag can give (an account's principals; one role of C), and one it never gives.
READERS = {
    B: f"arn:aws:iam::{B}:role/reader",
    APP_C: APP_C,
    D: f"arn:aws:iam::{D}:role/reader",
}
NEVER_GRANTED = f"arn:aws:iam::{C}:role/other"
# What each tag entry grants, as policies name it.
PRINCIPALS = {B: f"arn:aws:iam::{B}:root", APP_C: APP_C, D: f"arn:aws:iam::{D}:root"}
TAG_VALUES = [B, APP_C, D, f"{B} {APP_C}", f"{APP_C} {D}", f"{B} {D}", f"{B} {APP_C} {D}", None]


@pytest.fixture(autouse=True)
def handler_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_CONSUMERS", f"{B} {C} {D}")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "secretshare")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SecretShare")


@pytest.fixture
def shared_key(world, monkeypatch):
    key_arn = world.create_key()["Arn"]
    monkeypatch.setenv("SHARED_KEY_ARN", key_arn)
    return key_arn


def tag_change(secret_arn: str) -> dict:
    """EventBridge's event for a tag edit (its own id, so no two are alike)."""
    event = load_sample("tag-change.json", secret_arn=secret_arn)
    event["id"] = str(uuid.uuid4())
    return event


def tag_resource_call(secret_name: str) -> dict:
    """CloudTrail's event for TagResource, which names the secret as the caller did: here by name."""
    event = load_sample("cloudtrail-tag-resource.json")
    event["id"] = str(uuid.uuid4())
    event["detail"]["requestParameters"]["secretId"] = secret_name
    return event


def granted(tag_value: str | None) -> set[str]:
    return {READERS[entry] for entry in tag_value.split()} if tag_value else set()


def who_reads(world, iam, arn: str) -> set[str]:
    """Every reader the evaluator lets read the secret, each holding an identity policy that allows everything: the
    secret's resource policy and its key's policy decide."""
    access = Access(iam, world, arn)
    return {reader for reader in (*READERS.values(), NEVER_GRANTED) if access.read(reader, ADMIN_POLICY).allowed}


def test_secrets_on_one_shared_key_changed_in_parallel_batches_lose_no_grant_and_leave_none(
    world, iam, shared_key, reconcile_app, default_session
):
    """Ten secrets on one key policy, ten at a time through the handler, each reconciliation held for a moment between
    reading the key policy and writing it back: every read overlaps the others' writes, as a burst's would."""

    def widen_the_race(**_):
        time.sleep(0.02)

    default_session.events.register("after-call.kms.GetKeyPolicy", widen_the_race)
    rng = random.Random(20)
    names = [f"team-{n}/db-password" for n in range(10)]
    arns = {name: world.create_secret(name) for name in names}
    final: dict[str, str | None] = {}

    for round_ in range(3):
        # Each round, every secret's tag changes; in the last round two secrets change twice within the batch.
        edited = names if round_ < 2 else [*names[:8], names[0], names[1]]
        events = []
        for name in edited:
            final[name] = rng.choice(TAG_VALUES)
            if final[name] is None:
                world.untag(arns[name])
            else:
                world.tag(arns[name], final[name])
            events.append(tag_change(arns[name]))

        response = reconcile_app.handler(sqs_batch(*events), LambdaContext())

        assert response == {"batchItemFailures": []}
        for name in names:
            assert who_reads(world, iam, arns[name]) == granted(final[name]), (round_, name, final[name])
    assert len(set(final.values())) > 3, "the rounds left a mix of consumer sets"
    # The shared key holds one grant per audience of each secret's consumers, and no grant naming no secret.
    ours = world.ours(world.key_policy(shared_key))
    for name in names:
        wanted = audiences(PRINCIPALS[entry] for entry in (final[name] or "").split())
        assert len(world.key_grants_for(world.key_policy(shared_key), arns[name])) == len(wanted), name
    assert all("kms:EncryptionContext:SecretARN" in str(statement) for statement in ours)


def test_secrets_shared_in_one_batch_open_one_pool_key_and_each_is_read_by_its_own_consumers_only(
    world, iam, reconcile_app, default_session
):
    """KEY_MODE=pool (the default): ten secrets on the AWS managed key, shared in one batch. Each finds no pool key
    when it reads; the first makes one, and the others, waiting meanwhile, join it instead of making their own."""

    def widen_the_race(**_):
        time.sleep(0.02)

    default_session.events.register("after-call.kms.GetKeyPolicy", widen_the_race)
    rng = random.Random(21)
    wanted = {f"team-{n}/db-password": rng.choice(TAG_VALUES[:-1]) for n in range(10)}
    arns = {name: world.create_secret(name, share_with=value) for name, value in wanted.items()}

    response = reconcile_app.handler(sqs_batch(*map(tag_change, arns.values())), LambdaContext())

    assert response == {"batchItemFailures": []}
    assert world.key_count() == 1, "one pool key for the batch"
    assert len({world.kms_key_id(arn) for arn in arns.values()}) == 1
    for name, arn in arns.items():
        assert who_reads(world, iam, arn) == granted(wanted[name]), name


def test_a_later_change_to_a_secret_is_never_overtaken_by_an_earlier_one(world, iam, reconcile_app, default_session):
    """The first record reads the tag (B), and the person changes it to D before that reconciliation writes. The
    second record, naming the secret by name, must run after the first has written, and so grant D and revoke B."""
    name = "app/db-password"
    arn = world.create_secret(name, share_with=B)
    first_read = threading.Event()
    second_done = threading.Event()

    def person_edits_after_the_first_read(parsed, **_):
        if parsed.get("ARN") == arn and not first_read.is_set():
            first_read.set()
            world.tag(arn, D)
            # Were the second record run alongside, it would complete here, before this reconciliation writes.
            second_done.wait(timeout=1.5)

    def second_reconciliation_done(params, **_):
        if first_read.is_set() and params.get("SecretId") in (arn, name):
            second_done.set()

    default_session.events.register("after-call.secretsmanager.DescribeSecret", person_edits_after_the_first_read)
    default_session.events.register("before-parameter-build.secretsmanager.TagResource", second_reconciliation_done)

    response = reconcile_app.handler(sqs_batch(tag_change(arn), tag_resource_call(name)), LambdaContext())

    assert response == {"batchItemFailures": []}
    assert who_reads(world, iam, arn) == {READERS[D]}
    assert world.published_policy(B, name) is None
    assert world.published_policy(D, name) is not None


def test_secrets_of_one_batch_are_reconciled_at_the_same_time(world, reconcile_app, default_session):
    """Each reconciliation waits, at its first read, for the other to get there too: only at once can both finish."""
    arns = [world.create_secret(name, share_with=B) for name in ("app/one", "app/two")]
    both_reading = threading.Barrier(2, timeout=10)
    arrived: set[str] = set()

    def wait_for_the_other(params, **_):
        secret = params.get("SecretId")
        if secret in arns and secret not in arrived:
            arrived.add(secret)
            both_reading.wait()

    default_session.events.register("before-parameter-build.secretsmanager.DescribeSecret", wait_for_the_other)

    response = reconcile_app.handler(sqs_batch(*(tag_change(arn) for arn in arns)), LambdaContext())

    assert response == {"batchItemFailures": []}
    assert all(world.status(arn) == "ok 1 consumer" for arn in arns)


def test_a_failing_secret_holds_back_its_own_later_records_and_no_other_secret(
    world, iam, reconcile_app, handler_faults, default_session
):
    """With no queue to put a failure back on, the failed record is redelivered: so is the record after it for the
    same secret, untried, while the other secret in between converges."""
    failing = world.create_secret("app/failing", share_with=B)
    other = world.create_secret("app/other", share_with=D)
    handler_faults.fail(
        "secretsmanager.PutResourcePolicy",
        "InternalServiceError",
        "An error occurred on the server side.",
        status=500,
        when=lambda params: params["SecretId"] == failing,
    )
    writes: list[str] = []
    default_session.events.register(
        "before-parameter-build.secretsmanager.PutResourcePolicy",
        lambda params, **_: writes.append(params["SecretId"]),
    )
    batch = sqs_batch(tag_change(failing), tag_change(other), tag_change(failing))

    response = reconcile_app.handler(batch, LambdaContext())

    first, _, last = (record["messageId"] for record in batch["Records"])
    assert response == {"batchItemFailures": [{"itemIdentifier": first}, {"itemIdentifier": last}]}
    assert writes.count(failing) == 1, "the later record of the failing secret was not tried"
    assert who_reads(world, iam, other) == {READERS[D]}
    assert who_reads(world, iam, failing) == set()
