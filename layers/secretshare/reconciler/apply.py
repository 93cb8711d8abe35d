"""Applying: carry out a plan's writes, in the order `Plan.describe` lists them. Decides nothing.

Each function takes a plan (and what the writes before it returned) and nothing else; the loop that reads,
plans again after a failure and reports lives in `reconcile.py`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import ConsumerAccountError, PublicPolicyRefused
from ..domain.events import EXPIRY_DETAIL_TYPE, EXPIRY_SOURCE, reconcile_request
from ..domain.names import GRANTS_TAG_KEY, expiry_schedule_name, is_ours
from ..domain.policy import statements
from ..domain.sharetag import format_time
from ..gateway import Aws
from .plan import CopyPlan, Plan

logger = logging.getLogger("secretshare")


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
    failures: dict[str, str] = {}
    for account in plan.parameter_deletes:
        try:
            aws.consumers.delete_parameter(account, plan.parameter_name, plan.partition, plan.region)
        except ConsumerAccountError as err:
            logger.error("secret %s: %s", plan.secret_arn, err)
            failures[account] = str(err)
        else:
            _log(plan, f"deleted parameter {plan.parameter_name} in {account}")
    return failures


def apply_grants(aws: Aws, plan: Plan, failures: dict[str, str]) -> Applied:
    """Apply A's side, keys first (a revoked consumer loses kms:Decrypt at once), then publish to consumers.

    `failures` are the consumer accounts whose parameter could not be deleted. A key is tagged before our first
    statement lands on it, so a run that stops in between leaves nothing the next one cannot find. A consumer
    account that fails does not stop the others; the status tag records every failure.
    """
    key_arns = {copy.region: copy.key_arn for copy in plan.copies}
    for copy in plan.copies:
        if copy.new_key:
            new_key = copy.new_key
            key_arns[copy.region] = aws.kms.create_key(new_key.description, new_key.document, new_key.tags, copy.region)
            _log(plan, f"created key {key_arns[copy.region]} in {copy.region}")
        alias = copy.new_key.alias if copy.new_key else copy.create_alias
        if alias:
            aws.kms.create_alias(alias, key_arns[copy.region] or "", copy.region)
            _log(plan, f"created alias {alias} for {key_arns[copy.region]}")
    for tag in plan.key_tag_changes:
        aws.kms.tag_key(tag.key_arn, GRANTS_TAG_KEY, tag.value, tag.region)
    for change in plan.key_policy_changes:
        key_arn = change.key_arn or key_arns[change.region] or ""
        aws.kms.put_key_policy(key_arn, change.document, change.region)
        _log(plan, f"updated key policy of {key_arn}")
    for copy in plan.copies:
        key_arn = key_arns[copy.region]
        if copy.repoint and key_arn:
            _move_copy(aws, plan, copy, key_arn)
    _apply_resource_policy(aws, plan)
    failures = {**failures, **plan.unreachable}
    if plan.parameter_writes:
        failures |= _publish(aws, plan, {region: arn for region, arn in key_arns.items() if arn})
    _apply_schedule(aws, plan)
    _write_status(aws, plan, plan.status_with(failures))
    return Applied(key_arns, failures)


def _move_copy(aws: Aws, plan: Plan, copy: CopyPlan, key_arn: str) -> None:
    """Point the secret at `key_arn` (only the primary ever moves: a replica's key is set when it is replicated)."""
    aws.secrets.set_key(copy.secret_arn, key_arn, copy.region)
    _log(plan, f"{copy.secret_arn} now encrypted with {key_arn}")


def _apply_schedule(aws: Aws, plan: Plan) -> None:
    change = plan.schedule_change
    if change is None:
        return
    name = expiry_schedule_name(plan.secret_arn)
    if change.at is None:
        aws.scheduler.delete_expiry_schedule(name, plan.region)
        _log(plan, f"deleted expiry schedule {name}")
        return
    detail = {"fires": format_time(change.at), "requested": (change.requested or change.at).isoformat()}
    message = json.dumps(reconcile_request(plan.secret_arn, EXPIRY_SOURCE, EXPIRY_DETAIL_TYPE, detail))
    aws.scheduler.put_expiry_schedule(name, change.at, message, plan.region)
    _log(plan, f"expiry schedule {name} fires at {format_time(change.at)}")


def _write_status(aws: Aws, plan: Plan, value: str | None) -> None:
    """Record the outcome in the status tag, only when it changed: an unchanged outcome writes nothing, so the
    tag write cannot set off another reconciliation that writes again.
    """
    if value == plan.status_before:
        return
    aws.secrets.set_tag(plan.secret_arn, aws.settings.status_tag_key, value, plan.region)
    _log(plan, f"status: {value}" if value else "removed the status tag")


def _publish(aws: Aws, plan: Plan, key_arns: dict[str, str]) -> dict[str, str]:
    """Write the consumer policy parameter in each consumer account; return the failed accounts and why."""
    value = plan.consumer_document(key_arns)
    keys = " ".join(key_arns[copy.region] for copy in plan.copies)
    description = f"secretshare: IAM policy to read {plan.secret_arn} (KMS key {keys})"[:1024]
    failures = {}
    for write in plan.parameter_writes:
        try:
            aws.consumers.write_parameter(
                write.account,
                plan.parameter_name,
                value,
                description,
                exists=write.exists,
                partition=plan.partition,
                region=plan.region,
            )
        except ConsumerAccountError as err:
            logger.error("secret %s: %s", plan.secret_arn, err)
            failures[write.account] = str(err)
        else:
            _log(plan, f"published parameter {plan.parameter_name} in {write.account}")
    return failures


def _apply_resource_policy(aws: Aws, plan: Plan) -> None:
    change = plan.resource_policy_change
    if change is None:
        return
    if change.document is None:
        aws.secrets.delete_resource_policy(plan.secret_arn, plan.region)
        _log(plan, "deleted resource policy")
    else:
        _check_not_public(aws, plan, change.document)
        aws.secrets.put_resource_policy(plan.secret_arn, change.document, plan.region)
        _log(plan, "updated resource policy")


def _check_not_public(aws: Aws, plan: Plan, document: str) -> None:
    """Ask IAM Access Analyzer whether a resource policy holding statements we did not write is public.

    Ours cannot be (the tag grammar admits no wildcard), so a policy of only ours is not checked. Where
    Access Analyzer is unreachable the check is skipped with a log line; BlockPublicPolicy still applies.
    """
    change = plan.resource_policy_change
    if change is None or all(is_ours(s) for s in statements(change.after)):
        return
    try:
        verdict = aws.access_analyzer.public_access_verdict(document, plan.region)
    except (ClientError, BotoCoreError) as err:
        logger.warning("secret %s: public-access check skipped, Access Analyzer unreachable: %s", plan.secret_arn, err)
        return
    if verdict != "PASS":
        raise PublicPolicyRefused(
            f"secret {plan.secret_arn}: IAM Access Analyzer finds its resource policy public ({verdict}); "
            "a statement secretshare did not write grants broad access: fix it, then reconcile again"
        )


def _log(plan: Plan, message: str) -> None:
    logger.info("secret %s: %s", plan.secret_arn, message)
