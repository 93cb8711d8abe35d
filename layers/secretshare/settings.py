"""Configuration from environment variables, with every default written here once."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .arns import is_account_id, parse_arn
from .errors import ConfigurationError

ALLOW_ORGANIZATION = "organization"
ALLOW_ANY = "any"


@dataclass(frozen=True)
class AllowList:
    """Which accounts may be consumers: A's organization, any account, or a fixed set of ids."""

    mode: str  # ALLOW_ORGANIZATION, ALLOW_ANY, or "accounts"
    accounts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """Parse ALLOWED_CONSUMERS: `organization`, `any`, or account ids separated by spaces or commas."""
        value = text.strip()
        if value in (ALLOW_ORGANIZATION, ALLOW_ANY):
            return cls(value)
        ids = [item for item in re.split(r"[\s,]+", value) if item]
        bad = [item for item in ids if not is_account_id(item)]
        if not ids or bad:
            raise ConfigurationError(
                f"ALLOWED_CONSUMERS={text!r}: expected 'organization', 'any' or 12-digit account ids"
                + (f"; {bad[0]!r} is not an account id" if bad else "")
            )
        return cls("accounts", frozenset(ids))

    def __str__(self) -> str:
        return self.mode if self.mode != "accounts" else " ".join(sorted(self.accounts))


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; `Settings.from_env()` reads it from the environment."""

    share_tag_key: str = "share-with"
    consumer_role_name: str = "secretshare-publisher"
    parameter_prefix: str = "/secretshare"
    allowed_consumers: AllowList = AllowList(ALLOW_ORGANIZATION)
    shared_key_arn: str = ""
    queue_url: str = ""
    share_until_tag_key: str = "share-until"
    # The exact-time expiry schedules (EventBridge Scheduler): their group, the role Scheduler sends with,
    # and the reconcile queue they send to. Without a role and a queue, only the sweep enforces expiry.
    expiry_schedule_group: str = "default"
    expiry_schedule_role_arn: str = ""
    queue_arn: str = ""
    # Where the sweep hands over the rest of its work when its time runs out, and where a reconciliation that keeps
    # failing goes once its retries are spent (both empty outside the stack: a CLI run needs neither).
    sweep_queue_url: str = ""
    dead_letter_queue_url: str = ""

    @property
    def status_tag_key(self) -> str:
        """The tag reconciliation writes its outcome to: `share-with-status` for the default share tag."""
        return f"{self.share_tag_key}-status"

    @property
    def schedules_expiry(self) -> bool:
        """True when expiry gets an exact-time schedule (the sweep enforces it in any case)."""
        return bool(self.expiry_schedule_role_arn and self.queue_arn)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read SHARE_TAG_KEY, CONSUMER_ROLE_NAME, PARAMETER_PREFIX, ALLOWED_CONSUMERS, SHARED_KEY_ARN, QUEUE_URL,
        SHARE_UNTIL_TAG_KEY, EXPIRY_SCHEDULE_GROUP, EXPIRY_SCHEDULE_ROLE_ARN, QUEUE_ARN, SWEEP_QUEUE_URL and
        DEAD_LETTER_QUEUE_URL."""
        env = os.environ if environ is None else environ
        default = cls()
        shared_key_arn = env.get("SHARED_KEY_ARN", "").strip()
        if shared_key_arn and not _is_key_arn(shared_key_arn):
            raise ConfigurationError(f"SHARED_KEY_ARN={shared_key_arn!r} is not a KMS key ARN (arn:...:key/...)")
        prefix = env.get("PARAMETER_PREFIX", default.parameter_prefix).strip()
        if not prefix.startswith("/"):
            raise ConfigurationError(f"PARAMETER_PREFIX={prefix!r} must start with '/'")
        return cls(
            share_tag_key=env.get("SHARE_TAG_KEY", default.share_tag_key).strip() or default.share_tag_key,
            consumer_role_name=env.get("CONSUMER_ROLE_NAME", default.consumer_role_name).strip(),
            parameter_prefix=prefix,
            allowed_consumers=AllowList.parse(env.get("ALLOWED_CONSUMERS", ALLOW_ORGANIZATION)),
            shared_key_arn=shared_key_arn,
            queue_url=env.get("QUEUE_URL", "").strip(),
            share_until_tag_key=env.get("SHARE_UNTIL_TAG_KEY", "").strip() or default.share_until_tag_key,
            expiry_schedule_group=env.get("EXPIRY_SCHEDULE_GROUP", "").strip() or default.expiry_schedule_group,
            expiry_schedule_role_arn=env.get("EXPIRY_SCHEDULE_ROLE_ARN", "").strip(),
            queue_arn=env.get("QUEUE_ARN", "").strip(),
            sweep_queue_url=env.get("SWEEP_QUEUE_URL", "").strip(),
            dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL", "").strip(),
        )

    def consumer_role_arn(self, partition: str, account: str) -> str:
        """The role in a consumer account that publishes its parameters."""
        return f"arn:{partition}:iam::{account}:role/{self.consumer_role_name}"


def _is_key_arn(text: str) -> bool:
    arn = parse_arn(text)
    return arn is not None and arn.service == "kms" and arn.resource.startswith("key/")
