"""The invariant, for any history: after random tag edits, key swaps, deletions, recreations and runs stopped at a
random write, one reconciliation of the secret and one sweep leave no `SecretShare` grant naming any of its ARNs on
any key of account A, except on the live secret's current key, holding exactly the tag's consumers; and a
parameter only in the accounts the tag names, describing the live secret.

Each history runs on a fresh moto; a stopped run is an error AWS answers at the boundary to the k-th write.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field

from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from support.faults import AwsFaults
from support.world import PRODUCER, World
from support.world import principals as grantees

from secretshare import SecretShareError
from secretshare.domain.keypolicy import granted_secret_arns
from secretshare.domain.names import is_ours
from secretshare.reconciler.sweep import sweep

NAME = "app/db"
CONSUMERS = {"222222222222": "arn:aws:iam::222222222222:root", "333333333333": "arn:aws:iam::333333333333:role/app"}
ACCOUNTS = ("222222222222", "333333333333")
PARAMETER = f"/secretshare/{PRODUCER}/eu-west-1/app/db"
WRITES = (
    "kms.CreateKey",
    "kms.CreateAlias",
    "kms.TagResource",
    "kms.PutKeyPolicy",
    "secretsmanager.UpdateSecret",
    "secretsmanager.PutResourcePolicy",
    "secretsmanager.DeleteResourcePolicy",
    "secretsmanager.TagResource",
    "secretsmanager.UntagResource",
    "ssm.PutParameter",
    "ssm.DeleteParameter",
)

consumer_sets = st.sets(st.sampled_from(sorted(CONSUMERS)), max_size=2)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("tag"), consumer_sets),
        st.tuples(st.just("untag"), st.none()),
        st.tuples(st.sampled_from(["to-team-key", "to-new-team-key", "to-managed-key"]), st.none()),
        st.tuples(st.sampled_from(["delete", "force-delete", "restore", "recreate"]), consumer_sets),
        st.tuples(st.just("reconcile"), st.none()),
        st.tuples(st.just("stopped-reconcile"), st.integers(min_value=1, max_value=8)),
    ),
    min_size=1,
    max_size=8,
)


@dataclass
class History:
    """The estate a history builds: the secret's ARNs over time, and the team keys a person made."""

    world: World
    faults: AwsFaults
    arns: list[str] = field(default_factory=list)
    team_keys: list[str] = field(default_factory=list)

    @property
    def live(self) -> str:
        return self.arns[-1]

    def entries(self, accounts: set[str]) -> str:
        return " ".join(CONSUMERS[a] for a in sorted(accounts))

    def apply(self, step: str, argument: object) -> None:
        """One step of the history. A person's call AWS refuses (a deleted secret cannot be tagged) changes
        nothing, as in AWS; a reconciliation's failure is reported on the secret, and what it left is checked."""
        with contextlib.suppress(ClientError, SecretShareError):
            self._apply(step, argument)

    def _apply(self, step: str, argument: object) -> None:
        secrets = self.world.secretsmanager
        if step == "tag":
            self.world.tag(self.live, self.entries(argument) or " ")  # type: ignore[arg-type]
        elif step == "untag":
            self.world.untag(self.live)
        elif step in ("to-team-key", "to-new-team-key"):
            if step == "to-new-team-key" or not self.team_keys:
                self.team_keys.append(self.world.create_key()["Arn"])
            secrets.update_secret(SecretId=self.live, KmsKeyId=self.team_keys[-1])
        elif step == "to-managed-key":
            secrets.update_secret(SecretId=self.live, KmsKeyId="alias/aws/secretsmanager")
        elif step == "delete":
            secrets.delete_secret(SecretId=self.live, RecoveryWindowInDays=7)
        elif step == "force-delete":
            secrets.delete_secret(SecretId=self.live, ForceDeleteWithoutRecovery=True)
        elif step == "restore":
            secrets.restore_secret(SecretId=self.live)
        elif step == "recreate":
            with contextlib.suppress(ClientError):
                secrets.delete_secret(SecretId=self.live, ForceDeleteWithoutRecovery=True)
            self.arns.append(self.world.create_secret(NAME, self.entries(argument) or None))  # type: ignore[arg-type]
        elif step == "reconcile":
            self.world.reconcile(self.live)
        elif step == "stopped-reconcile":
            self.stopped_at(int(argument))  # type: ignore[call-overload]

    def reconcile(self, arn: str, keys_naming: tuple[str, ...] = ()) -> None:
        with contextlib.suppress(ClientError, SecretShareError):
            self.world.reconcile(arn, hinted_keys=keys_naming)

    def stopped_at(self, write: int) -> None:
        count = {"writes": 0}

        def kth(_: dict) -> bool:
            count["writes"] += 1
            return count["writes"] == write

        stops = [self.faults.fail(op, "SimulatedCrash", "the run stopped here", when=kth) for op in WRITES]
        try:
            self.world.reconcile(self.live)
        finally:
            for stop in stops:
                self.faults.remove(stop)

    def converge(self) -> None:
        """One reconciliation of the secret, then one sweep and the reconciliations it asks for, each told the keys
        the sweep found naming its secret (as the sweep function's request tells the reconcile function)."""
        self.reconcile(self.live)
        report = sweep(settings=self.world.settings, session=self.world.session)
        naming = {check.arn: check.keys_naming for check in report.checks}
        for arn in report.to_reconcile:
            self.reconcile(arn, naming[arn])


def wanted(world: World, arn: str) -> set[str]:
    """The principals the live secret's tag asks for (none once deleted or untagged)."""
    try:
        described = world.secretsmanager.describe_secret(SecretId=arn)
    except ClientError:
        return set()
    if "DeletedDate" in described:
        return set()
    tags = {t["Key"]: t["Value"] for t in described.get("Tags", [])}
    return set(tags.get("share-with", "").split())


def our_grants(world: World) -> dict[str, dict[str, set[str]]]:
    """Key ARN -> secret ARN -> principals our Allow statements grant, on every key of A."""
    found: dict[str, dict[str, set[str]]] = {}
    for page in world.kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            for statement in World.ours(world.key_policy(key["KeyArn"])):
                if statement["Effect"] != "Allow" or not is_ours(statement):
                    continue
                for secret in granted_secret_arns(statement):
                    found.setdefault(key["KeyArn"], {}).setdefault(secret, set()).update(grantees(statement))
    return found


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=steps, first=consumer_sets)
def test_after_any_history_only_the_current_key_grants_exactly_the_tags_consumers(history, first):
    with mock_aws():
        world = World()
        estate = History(world, AwsFaults(world.session, PRODUCER))
        estate.arns.append(world.create_secret(NAME, estate.entries(first) or None))
        for step, argument in history:
            estate.apply(step, argument)

        estate.converge()

        consumers = wanted(world, estate.live)
        current = world.kms_key_id(estate.live) if consumers else None
        for key_arn, secrets in our_grants(world).items():
            for secret, principals in secrets.items():
                if secret == estate.live and consumers:
                    assert key_arn == world.key_arn(current), f"{secret} granted on {key_arn}, not its key"
                    assert principals == consumers
                else:
                    assert secret not in estate.arns, f"{secret} still granted {principals} on {key_arn}"
        for account in ACCOUNTS:
            parameter = world.parameter(account, PARAMETER)
            if CONSUMERS[account] in consumers:
                assert parameter is not None and estate.live in parameter["Value"]
            else:
                assert parameter is None, f"{account} still holds {json.loads(parameter['Value'])}"
