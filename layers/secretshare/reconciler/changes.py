"""The changes a plan is made of: each a value that describes itself and has exactly one apply step.

`WRITE_ORDER` is the order in which a plan's changes are made, here and nowhere else: revoked consumers' parameters
first (one that cannot be deleted is remembered in the key policy written next), then A's side, keys first (a revoked
consumer loses kms:Decrypt at once; a key is tagged before our first statement lands on it, so a run that stops in
between leaves nothing the next one cannot find), then the consumers' parameters, the expiry schedule, and last the
status tag, which reports what the run achieved.

Pure: an apply step calls the gateway through the run it is handed (`apply.Applying`); this module never imports it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..domain.consumers import Consumer
from ..domain.errors import ConsumerAccountError
from ..domain.events import EXPIRY_DETAIL_TYPE, EXPIRY_SOURCE, MESSAGE_GROUP_ID, reconcile_request
from ..domain.names import GRANTS_TAG_KEY
from ..domain.policy import Document, granted_principals
from ..domain.sharetag import format_time

if TYPE_CHECKING:
    from .apply import Applying

logger = logging.getLogger("secretshare")

AWS_MANAGED_KEY = "aws/secretsmanager"


class Change:
    """One write of a plan. `summary` says how several of a kind read in a table (the sweep's)."""

    def describe(self) -> str:
        """The change as one readable line (the dry run prints these)."""
        raise NotImplementedError

    def apply(self, run: Applying) -> None:
        """Make the change through `run.aws`."""
        raise NotImplementedError

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        """How `changes`, all of this kind, read in a few words."""
        raise NotImplementedError


def _count(number: int, singular: str, plural: str = "") -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


@dataclass(frozen=True)
class DeleteParameter(Change):
    """Delete a revoked consumer account's parameter. One that cannot be deleted is recorded as the run's failure:
    the loop then plans again with a cleanup marker naming the account."""

    account: str
    name: str

    def describe(self) -> str:
        return f"delete parameter {self.name} in {self.account}"

    def apply(self, run: Applying) -> None:
        plan = run.context
        try:
            run.aws.consumers.delete_parameter(self.account, self.name, plan.partition, plan.region)
        except ConsumerAccountError as err:
            logger.error("secret %s: %s", run.secret_arn, err)
            run.failures[self.account] = str(err)
        else:
            run.log(f"deleted parameter {self.name} in {self.account}")

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        return f"{_count(len(changes), 'parameter')} deleted"


@dataclass(frozen=True)
class CreateKey(Change):
    """A customer-managed key in one region, with its first key policy: dedicated to the secret, with its alias, or a
    new key of the pool (`alias` None). The grants follow in a key-policy change, once the key exists: KMS refusing a
    principal then names a key to ask."""

    region: str
    alias: str | None
    description: str
    tags: Mapping[str, str]
    policy: Document
    document: str

    def describe(self) -> str:
        if self.alias is None:
            return f"create a pool KMS key in {self.region}"
        return f"create KMS key {self.alias} in {self.region}"

    def apply(self, run: Applying) -> None:
        key_arn = run.aws.kms.create_key(self.description, self.document, self.tags, self.region)
        run.key_arns[self.region] = key_arn
        run.log(f"created key {key_arn} in {self.region}")
        if self.alias:
            run.aws.kms.create_alias(self.alias, key_arn, self.region)
            run.log(f"created alias {self.alias} for {key_arn}")

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        return _count(len(changes), "new key")


@dataclass(frozen=True)
class CreateAlias(Change):
    """The alias of a key made for the secret by a run that stopped before making it: the key is adopted."""

    region: str
    alias: str
    key_arn: str

    def describe(self) -> str:
        return f"create alias {self.alias} for {self.key_arn} (a key made for this secret)"

    def apply(self, run: Applying) -> None:
        run.aws.kms.create_alias(self.alias, self.key_arn, self.region)
        run.log(f"created alias {self.alias} for {self.key_arn}")

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        return _count(len(changes), "alias", "aliases")


@dataclass(frozen=True)
class TagKey(Change):
    """Tag a key `secretshare-grants=<value>` before our first statement lands on it, so it is found again."""

    key_arn: str
    region: str
    value: str

    def describe(self) -> str:
        return f"tag key {self.key_arn} {GRANTS_TAG_KEY}={self.value}"

    def apply(self, run: Applying) -> None:
        run.aws.kms.tag_key(self.key_arn, GRANTS_TAG_KEY, self.value, self.region)

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        return f"{_count(len(changes), 'key')} tagged"


@dataclass(frozen=True)
class PutKeyPolicy(Change):
    """A key policy rewrite: `after` keeps every statement of `before` that is not ours for this secret.

    `key_arn` is None for the key the plan creates in `region`. `document` is `after` as written.
    """

    key_arn: str | None
    region: str
    before: Document
    after: Document
    document: str
    granted_before: frozenset[Consumer] = frozenset()
    granted_after: frozenset[Consumer] = frozenset()

    def describe(self) -> str:
        key = self.key_arn or f"the new key in {self.region}"
        return f"update key policy of {key}: {grant_diff(self.granted_before, self.granted_after)}"

    def apply(self, run: Applying) -> None:
        key_arn = run.key_arn(self.region, self.key_arn)
        run.aws.kms.put_key_policy(key_arn, self.document, self.region)
        run.log(f"updated key policy of {key_arn}")

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        return _count(len(changes), "key policy", "key policies")


@dataclass(frozen=True)
class ProbePrincipal(Change):
    """A key policy that grants nothing more, naming one principal, to ask KMS whether it accepts that principal
    (see `keypolicy.probe_statement`). KMS's refusal reaches the caller."""

    key_arn: str
    region: str
    principal: str
    document: str

    def describe(self) -> str:
        return f"ask KMS whether key {self.key_arn} accepts principal {self.principal}"

    def apply(self, run: Applying) -> None:
        run.aws.kms.put_key_policy(self.key_arn, self.document, self.region)

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        return _count(len(changes), "probe")


@dataclass(frozen=True)
class MoveSecret(Change):
    """Point a copy of the secret at its key by full ARN (only the primary ever moves: a replica's key is set when it
    is replicated). `key_arn` None: the key this run creates in `region` (`new_alias`; None for a pool key)."""

    region: str
    secret_arn: str
    key_arn: str | None
    previous_key_id: str | None
    what: str  # "secret", or "replica in <region>"
    new_alias: str | None = None

    def describe(self) -> str:
        to = self.key_arn or self.new_alias or "a new pool key"
        return f"move {self.what} from key {self.previous_key_id or AWS_MANAGED_KEY} to {to}"

    def apply(self, run: Applying) -> None:
        key_arn = run.key_arn(self.region, self.key_arn)
        if not key_arn:
            return
        run.aws.secrets.set_key(self.secret_arn, key_arn, self.region)
        run.log(f"{self.secret_arn} now encrypted with {key_arn}")

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        return "key move"


@dataclass(frozen=True)
class ResourcePolicyChange(Change):
    """A secret resource policy rewrite; `after` None deletes it (only our statements were in it)."""

    before: Document | None
    after: Document | None
    document: str | None = None

    def describe(self) -> str:
        if self.after is None:
            return "delete resource policy (only secretshare statements were in it)"
        return f"update resource policy: {grant_diff(granted_principals(self.before), granted_principals(self.after))}"

    def apply(self, run: Applying) -> None:
        plan = run.context
        if self.document is None:
            run.aws.secrets.delete_resource_policy(run.secret_arn, plan.region)
            run.log("deleted resource policy")
            return
        run.check_not_public(self.after, self.document)
        run.aws.secrets.put_resource_policy(run.secret_arn, self.document, plan.region)
        run.log("updated resource policy")

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        deleted = any(isinstance(c, ResourcePolicyChange) and c.after is None for c in changes)
        return "resource policy" + (" deleted" if deleted else "")


@dataclass(frozen=True)
class PublishParameter(Change):
    """Publish the consumer policy in one account; `exists` picks overwrite versus create-with-tags (None: not read,
    since a new key makes every value new). An account that fails is recorded; the others go on."""

    account: str
    name: str
    exists: bool | None

    def describe(self) -> str:
        return f"publish parameter {self.name} in {self.account}"

    def apply(self, run: Applying) -> None:
        plan = run.context
        key_arns = {region: arn for region, arn in run.key_arns.items() if arn}
        keys = " ".join(key_arns[copy.region] for copy in plan.copies)
        description = f"secretshare: IAM policy to read {run.secret_arn} (KMS key {keys})"[:1024]
        try:
            run.aws.consumers.write_parameter(
                self.account,
                self.name,
                plan.consumer_document(key_arns),
                description,
                exists=self.exists,
                partition=plan.partition,
                region=plan.region,
            )
        except ConsumerAccountError as err:
            logger.error("secret %s: %s", run.secret_arn, err)
            run.failures[self.account] = str(err)
        else:
            run.log(f"published parameter {self.name} in {self.account}")

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        return f"{_count(len(changes), 'parameter')} published"


@dataclass(frozen=True)
class ScheduleChange(Change):
    """Create or move the expiry schedule `name` to fire `at` (the share's end, at the minute), or delete it (`at`
    None). `requested` is when the plan was made: the message the schedule sends carries it, so a new schedule's
    message is never taken for an earlier one by the queue's content-based deduplication (five minutes,
    docs/aws-facts.md §8)."""

    name: str
    at: datetime | None
    requested: datetime | None = None

    def describe(self) -> str:
        return f"schedule expiry at {format_time(self.at)}" if self.at else "delete the expiry schedule"

    def apply(self, run: Applying) -> None:
        region = run.context.region
        if self.at is None:
            run.aws.scheduler.delete_expiry_schedule(self.name, region)
            run.log(f"deleted expiry schedule {self.name}")
            return
        detail = {"fires": format_time(self.at), "requested": (self.requested or self.at).isoformat()}
        message = json.dumps(reconcile_request(run.secret_arn, EXPIRY_SOURCE, EXPIRY_DETAIL_TYPE, detail))
        if self.at > datetime.now(UTC):
            run.aws.scheduler.put_expiry_schedule(self.name, self.at, message, region)
            run.log(f"expiry schedule {self.name} fires at {format_time(self.at)}")
            return
        # Its minute passed while this run was under way: Scheduler refuses an at() already past (docs/aws-facts.md
        # §17). The share is over (its grants end at their second, AWS enforces it): the expiry request the schedule
        # would have sent goes to the queue now; without a queue (the command line), the next sweep revokes it.
        queue_url = run.aws.settings.queue_url
        if queue_url:
            run.aws.queues.send_messages(queue_url, [message], MESSAGE_GROUP_ID)
        run.log(
            f"share ended at {format_time(self.at)} while it was granted: "
            + ("revocation queued" if queue_url else "the sweep revokes it")
        )

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        return "expiry schedule"


@dataclass(frozen=True)
class SetStatusTag(Change):
    """Write the status tag `key` of the secret (remove it: `value` None). Only a value that changed is ever written,
    so the tag write cannot set off another reconciliation that writes again."""

    secret_arn: str
    region: str
    key: str
    value: str | None

    def describe(self) -> str:
        return f"set status tag to {self.value!r}" if self.value else "remove status tag"

    def apply(self, run: Applying) -> None:
        run.aws.secrets.set_tag(self.secret_arn, self.key, self.value, self.region)
        run.log(f"status: {self.value}" if self.value else "removed the status tag")

    @classmethod
    def summary(cls, changes: list[Change]) -> str:
        return "status tag"


# The order in which a plan's changes are made (see the module's docstring).
WRITE_ORDER: tuple[type[Change], ...] = (
    DeleteParameter,
    CreateKey,
    CreateAlias,
    TagKey,
    PutKeyPolicy,
    MoveSecret,
    ResourcePolicyChange,
    PublishParameter,
    ScheduleChange,
    SetStatusTag,
)


def in_write_order(changes: Iterable[Change]) -> tuple[Change, ...]:
    """The changes in WRITE_ORDER (those of one kind in the order given)."""
    return tuple(sorted(changes, key=lambda change: WRITE_ORDER.index(type(change))))


def summarize(changes: Iterable[Change]) -> str:
    """The changes in a few words, kind by kind in WRITE_ORDER: `1 new key, key move, 1 key policy, ...`."""
    by_kind: dict[type[Change], list[Change]] = {}
    for change in changes:
        by_kind.setdefault(type(change), []).append(change)
    return ", ".join(kind.summary(by_kind[kind]) for kind in WRITE_ORDER if kind in by_kind)


def grant_diff(old: Iterable[str], new: Iterable[str]) -> str:
    """`grant X, revoke Y`: who a change grants and revokes."""
    added, removed = set(new) - set(old), set(old) - set(new)
    parts = [f"grant {_names(added)}" if added else "", f"revoke {_names(removed)}" if removed else ""]
    return ", ".join(p for p in parts if p) or "rewrite secretshare statements to their desired form"


def _names(principals: Iterable[str]) -> str:
    return ", ".join(sorted(principals)) or "nobody"
