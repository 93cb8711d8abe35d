"""Applying: run a plan's changes, in their order (`changes.WRITE_ORDER`). Decides nothing.

Every write secretshare makes is the apply step of one change (`changes.py`), run from here: a plan's, and the few the
loop in `reconcile.py` makes outside a plan (a probe of a principal, the status of a reconciliation that failed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import PublicPolicyRefused
from ..domain.names import is_ours
from ..domain.policy import Document, statements
from ..gateway import Aws
from .changes import Change, DeleteParameter, PutKeyPolicy, SetStatusTag
from .plan import Plan

logger = logging.getLogger("secretshare")


@dataclass
class Applying:
    """One run of changes: the gateway, the secret they are for, the plan they come from (None for a change made
    outside a plan), and what the run found out as it went: the key each region ends up on (a new key's ARN once it
    is created), the consumer accounts that failed and why."""

    aws: Aws
    secret_arn: str
    context: Plan | None = None
    key_arns: dict[str, str | None] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def key_arn(self, region: str, planned: str | None = None) -> str:
        """The key a change names: the planned one, or the one this run created in `region`."""
        return planned or self.key_arns.get(region) or ""

    def log(self, message: str) -> None:
        """A line naming the secret and what was just written."""
        logger.info("secret %s: %s", self.secret_arn, message)

    def check_not_public(self, policy: Document | None, document: str) -> None:
        """Ask IAM Access Analyzer whether a resource policy holding statements we did not write is public.

        Ours cannot be (the tag grammar admits no wildcard), so a policy of only ours is not checked. Where
        Access Analyzer is unreachable the check is skipped with a log line; BlockPublicPolicy still applies.
        """
        if all(is_ours(s) for s in statements(policy)):
            return
        region = self.context.region if self.context else None
        try:
            verdict = self.aws.access_analyzer.public_access_verdict(document, region or "")
        except (ClientError, BotoCoreError) as err:
            logger.warning(
                "secret %s: public-access check skipped, Access Analyzer unreachable: %s", self.secret_arn, err
            )
            return
        if verdict != "PASS":
            raise PublicPolicyRefused(
                f"secret {self.secret_arn}: IAM Access Analyzer finds its resource policy public ({verdict}); "
                "a statement secretshare did not write grants broad access: fix it, then reconcile again"
            )


@dataclass(frozen=True)
class Applied:
    """What applying a plan achieved: the key each copy of the secret is on, by region, and the consumer
    accounts that failed (with why)."""

    key_arns: dict[str, str | None]
    failures: dict[str, str]


def delete_revoked_parameters(aws: Aws, plan: Plan) -> dict[str, str]:
    """Delete the parameter in every revoked consumer account; return the accounts that failed and why.

    These go first: if one cannot be deleted, the caller plans again with a cleanup marker naming its account,
    so the key policy written next still tells a retry where to clean up.
    """
    run = Applying(aws, plan.secret_arn, plan)
    for change in plan.of(DeleteParameter):
        change.apply(run)
    return run.failures


def apply_grants(
    aws: Aws, plan: Plan, failures: Mapping[str, str], keys_written: Callable[[], None] = lambda: None
) -> Applied:
    """Apply every other change of the plan, in order; then the status tag, which reports what the run achieved.

    `failures` are the consumer accounts whose parameter could not be deleted. A consumer account that fails does not
    stop the others; the status tag records every failure (the planned value, or, after a failure, the value that
    says so). `keys_written` is called once the plan's last key-policy write is made (the caller lets go of the key
    policies' locks: a pool key's next reconciliation need not wait for this one's consumer accounts).
    """
    run = Applying(
        aws,
        plan.secret_arn,
        plan,
        key_arns={copy.region: copy.key_arn for copy in plan.copies},
        failures={**failures, **plan.unreachable},
    )
    last_key_write = max((n for n, change in enumerate(plan.changes) if isinstance(change, PutKeyPolicy)), default=-1)
    if last_key_write < 0:
        keys_written()
    for number, change in enumerate(plan.changes):
        if not isinstance(change, DeleteParameter | SetStatusTag):
            change.apply(run)
        if number == last_key_write:
            keys_written()
    status = plan.status_change(run.failures)
    if status is not None:
        status.apply(run)
    return Applied(run.key_arns, run.failures)


def apply_change(aws: Aws, secret_arn: str, change: Change) -> None:
    """Make one change outside a plan (a probe of a principal, the status of a reconciliation that failed)."""
    change.apply(Applying(aws, secret_arn))
