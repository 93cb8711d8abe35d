"""A shared secret with replicas: every replica is granted on its own region's key, and revoked there too.

The primary is in eu-west-1 and the replica in us-east-1, each region a moto backend of its own.

moto gaps, and how they are covered: moto reports every replica on `alias/aws/secretsmanager` whatever key it
was replicated with, while AWS reports each replica's key in the primary's `ReplicationStatus`. `ReplicaKeys`
answers that at the botocore boundary of the library's session, in AWS's response shape; and moto lists
`ReplicationStatus` in ListSecrets, which AWS's SecretListEntry does not have, so it is taken out there.
Everything else (keys, key policies, parameters) is moto. A replica's key is never changed: AWS documents no call
for it (docs/aws-facts.md §7), and moto refuses UpdateSecret on a replica as AWS does in the field.
"""

import json
from typing import Any

import boto3
import pytest
from support.world import principals

from secretshare.reconciler.sweep import sweep

B = "222222222222"
C = "333333333333"
ROOT_B = f"arn:aws:iam::{B}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"
NAME = "app/db-password"
PARAMETER = f"/secretshare/123456789012/eu-west-1/{NAME}"
PRIMARY, REPLICA = "eu-west-1", "us-east-1"


class ReplicaKeys:
    """The key AWS would report for each replica region, and UpdateSecret on a replica (see the module docstring)."""

    def __init__(self, session) -> None:
        self.keys: dict[str, str] = {}
        session.events.register("after-call.secretsmanager.DescribeSecret", self._report)
        session.events.register("after-call.secretsmanager.ListSecrets", self._list)

    def _report(self, parsed: dict[str, Any], **_: Any) -> None:
        for replica in parsed.get("ReplicationStatus", []):
            replica["KmsKeyId"] = self.keys.get(replica["Region"], replica["KmsKeyId"])

    @staticmethod
    def _list(parsed: dict[str, Any], **_: Any) -> None:
        for secret in parsed.get("SecretList", []):
            secret.pop("ReplicationStatus", None)  # not a member of AWS's SecretListEntry


class Replicas:
    """The second region, seen the way a user checks it, and replicas made the way a user makes them."""

    def __init__(self, world, keys: ReplicaKeys):
        self.world = world
        self.keys = keys
        self.secretsmanager = world.own_session.client("secretsmanager", region_name=REPLICA)
        self.kms = world.own_session.client("kms", region_name=REPLICA)

    def create_key(self, policy: dict | None = None) -> str:
        arguments = {"Policy": json.dumps(policy)} if policy else {}
        return self.kms.create_key(**arguments)["KeyMetadata"]["Arn"]

    def key_policy(self, key_id):
        return json.loads(self.kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])

    def replicate(self, arn, kms_key_id=None):
        region = {"Region": REPLICA, **({"KmsKeyId": kms_key_id} if kms_key_id else {})}
        self.world.secretsmanager.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[region])
        if kms_key_id:
            self.keys.keys[REPLICA] = kms_key_id
        return arn.replace(f":{PRIMARY}:", f":{REPLICA}:")


@pytest.fixture
def replicas(world):
    return Replicas(world, ReplicaKeys(world.session))


def published(world, account):
    parameter = world.parameter(account, PARAMETER)
    return json.loads(parameter["Value"]) if parameter else None


def grants(world, policy, secret_arn):
    """Whom our grants on a key policy give one secret ARN (roles by name), with the ViaService they are pinned to."""
    return {
        (principal, s["Condition"]["StringEquals"]["kms:ViaService"])
        for s in world.key_grants_for(policy, secret_arn)
        for principal in principals(s)
    }


def test_each_replica_is_granted_on_its_regions_key_and_the_consumer_policy_covers_every_region(world, replicas):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    replica_key = replicas.create_key()
    replica = replicas.replicate(arn, replica_key)

    world.reconcile(arn)

    primary_key = world.kms_key_id(arn)
    assert grants(world, world.key_policy(primary_key), arn) == {
        (ROOT_B, "secretsmanager.eu-west-1.amazonaws.com"),
        (ROLE_C, "secretsmanager.eu-west-1.amazonaws.com"),
    }
    assert grants(world, replicas.key_policy(replica_key), replica) == {
        (ROOT_B, "secretsmanager.us-east-1.amazonaws.com"),
        (ROLE_C, "secretsmanager.us-east-1.amazonaws.com"),
    }
    read, decrypt = published(world, B)["Statement"]
    assert read["Resource"] == [arn, replica]
    assert decrypt["Resource"] == [primary_key, replica_key]
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": ["secretsmanager.eu-west-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com"]
        }
    }
    assert published(world, C) == published(world, B)
    assert world.status(arn) == "ok 2 consumers"


def test_a_replica_added_later_converges_and_a_second_run_changes_nothing(world, replicas, calls):
    arn = world.create_secret(NAME, B)
    world.reconcile(arn)
    replica_key = replicas.create_key()
    replica = replicas.replicate(arn, replica_key)  # the ReplicateSecretToRegions event queues this reconciliation

    world.reconcile(arn)
    calls.clear()
    again = world.reconcile(arn)

    assert grants(world, replicas.key_policy(replica_key), replica) == {
        (ROOT_B, "secretsmanager.us-east-1.amazonaws.com")
    }
    assert published(world, B)["Statement"][0]["Resource"] == [arn, replica]
    assert again.plan.is_noop, again.changes
    assert calls.writes() == []


def test_removing_a_replica_region_revokes_the_grant_on_that_regions_key(world, replicas):
    arn = world.create_secret(NAME, B)
    replica_key = replicas.create_key()
    replica = replicas.replicate(arn, replica_key)
    world.reconcile(arn)

    world.secretsmanager.remove_regions_from_replication(SecretId=arn, RemoveReplicaRegions=[REPLICA])
    world.reconcile(arn)

    assert world.key_grants_for(replicas.key_policy(replica_key), replica) == []
    read, decrypt = published(world, B)["Statement"]
    assert read["Resource"] == arn
    assert decrypt["Resource"] == world.kms_key_id(arn)


def test_revoking_reaches_every_region(world, replicas):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    replica_key = replicas.create_key()
    replica = replicas.replicate(arn, replica_key)
    world.reconcile(arn)

    world.tag(arn, ROLE_C)
    world.reconcile(arn)
    assert grants(world, replicas.key_policy(replica_key), replica) == {
        (ROLE_C, "secretsmanager.us-east-1.amazonaws.com")
    }
    assert published(world, B) is None

    world.untag(arn)
    world.reconcile(arn)
    assert world.key_grants_for(replicas.key_policy(replica_key), replica) == []
    assert world.key_grants_for(world.key_policy(world.kms_key_id(arn)), arn) == []
    assert published(world, C) is None


def test_foreign_statements_on_a_replicas_key_are_kept(world, replicas):
    foreign = {
        "Sid": "Auditors",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
        "Action": "kms:DescribeKey",
        "Resource": "*",
    }
    admin = {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    replica_key = replicas.kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [admin, foreign]}))[
        "KeyMetadata"
    ]["Arn"]
    arn = world.create_secret(NAME, B)
    replicas.replicate(arn, replica_key)

    world.reconcile(arn)
    world.untag(arn)
    world.reconcile(arn)

    assert replicas.key_policy(replica_key)["Statement"] == [admin, foreign]


def test_reconciling_a_replica_by_its_arn_reconciles_its_primary(world, replicas):
    arn = world.create_secret(NAME, B)
    replica = replicas.replicate(arn, replicas.create_key())

    result = world.reconcile(replica)

    assert result.secret_arn == arn
    assert published(world, B)["Statement"][0]["Resource"] == [arn, replica]


def test_the_sweep_finds_a_replicated_secret_in_sync_though_listsecrets_does_not_list_replicas(world, replicas):
    arn = world.create_secret(NAME, B)
    replicas.replicate(arn, replicas.create_key())
    world.reconcile(arn)

    report = sweep(settings=world.settings, session=world.session)

    assert report.checked == (arn,)
    assert report.to_reconcile == ()


def test_only_the_sweep_in_the_primarys_region_queues_a_drifted_replicated_secret(world, replicas):
    arn = world.create_secret(NAME, B)
    replica = replicas.replicate(arn, replicas.create_key())
    world.reconcile(arn)
    world.tag(arn, f"{B} {ROLE_C}")  # a tag change whose event was missed

    in_replica_region = sweep(settings=world.settings, session=boto3.Session(region_name=REPLICA))
    in_primary_region = sweep(settings=world.settings, session=world.session)

    assert in_replica_region.to_reconcile == ()
    assert in_primary_region.to_reconcile == (arn,)
    assert replica not in in_primary_region.checked


def test_a_replica_on_the_aws_managed_key_is_left_as_it_is_and_the_primary_is_shared(world, replicas, calls):
    arn = world.create_secret(NAME, B)
    replicas.replicate(arn)  # on aws/secretsmanager, which no other account can use

    result = world.reconcile(arn)

    assert "UpdateSecret" not in {c.operation for c in calls.calls if c.arguments.get("SecretId", "").find(REPLICA) > 0}
    assert world.sharing(arn, (B,)).key_grantees == {ROOT_B}
    read, decrypt = published(world, B)["Statement"]
    assert read["Resource"] == arn and decrypt["Resource"] == world.kms_key_id(arn)
    assert world.status(arn) == f"error 1 replica not shared: {REPLICA} / ok 1 consumer"
    (note,) = [n for n in result.plan.notes if "replica" in n]
    assert "replicate-secret-to-regions" in note and f"Region={REPLICA},KmsKeyId=" in note
    assert world.reconcile(arn).plan.is_noop


def test_a_replica_whose_key_is_disabled_fails_alone_and_loses_our_grant_there(world, replicas):
    arn = world.create_secret(NAME, B)
    replica_key = replicas.create_key()
    replica = replicas.replicate(arn, replica_key)
    world.reconcile(arn)
    replicas.kms.disable_key(KeyId=replica_key.split("/")[-1])  # moto takes the key id only

    world.reconcile(arn)

    assert world.key_grants_for(replicas.key_policy(replica_key), replica) == []
    assert world.sharing(arn, (B,)).key_grantees == {ROOT_B}
    assert published(world, B)["Statement"][0]["Resource"] == arn
    assert world.status(arn) == f"error 1 replica not shared: {REPLICA} / ok 1 consumer"


def test_the_sweep_finds_a_replica_whose_event_was_missed(world, replicas):
    arn = world.create_secret(NAME, B)
    world.reconcile(arn)
    replicas.replicate(arn, replicas.create_key())  # ReplicateSecretToRegions, its event lost

    report = sweep(settings=world.settings, session=world.session)

    assert report.to_reconcile == (arn,)
    (check,) = report.checks
    assert [line for line in check.plan.describe() if REPLICA in line]
