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
ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}")

# IAM role names: 1 to 64 of letters, digits and +=,.@_- (the consumer stacks' RoleName: a name, no path).
_ROLE_NAME_CHARACTERS = re.compile(r"[\w+=,.@-]", re.ASCII)
ROLE_NAME_MAX_CHARS = 64
# Tag keys: at most 128 of letters, digits, spaces and _ . : / = + - @; `aws:` is AWS's own prefix.
_TAG_KEY_CHARACTERS = re.compile(r"[\w .:/=+\-@]", re.ASCII)
TAG_KEY_MAX_CHARS = 128
_STATUS_SUFFIX = "-status"
# SSM parameter names: letters, digits and _ . - between slashes; names beginning with aws or ssm are AWS's.
_PARAMETER_PREFIX = re.compile(r"(/[A-Za-z0-9_.-]+)+")
# Which key a secret leaving the AWS managed key moves to (SHARED_KEY_ARN, when set, names it instead):
# a key of secretshare's pool, shared by many secrets (docs/key-modes.md: why this is the default), or a key of its own.
KEY_MODE_POOL = "pool"
KEY_MODE_DEDICATED = "dedicated"
KEY_MODES = (KEY_MODE_POOL, KEY_MODE_DEDICATED)
# EventBridge Scheduler group names.
_SCHEDULE_GROUP = re.compile(r"[0-9A-Za-z_.-]{1,64}")


@dataclass(frozen=True)
class AllowList:
    """Which accounts may be consumers: A's organization, any account, or a fixed set of account ids (and of
    organization ids, whose organization and OU entries may then be granted)."""

    mode: str  # ALLOW_ORGANIZATION, ALLOW_ANY, or "accounts"
    accounts: frozenset[str] = frozenset()
    organizations: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """Parse ALLOWED_CONSUMERS: `organization`, `any`, or account ids and organization ids (`o-...`) separated
        by spaces or commas."""
        value = text.strip()
        if value in (ALLOW_ORGANIZATION, ALLOW_ANY):
            return cls(value)
        items = [item for item in re.split(r"[\s,]+", value) if item]
        organizations = {item for item in items if ORGANIZATION_ID.fullmatch(item)}
        bad = [item for item in items if not is_account_id(item) and item not in organizations]
        if not items or bad:
            raise ConfigurationError(
                f"ALLOWED_CONSUMERS={text!r}: expected 'organization', 'any', or 12-digit account ids and organization "
                "ids (o-...) separated by spaces or commas"
                + (f"; {bad[0]!r} is neither{_allow_list_hint(bad[0])}" if bad else "")
            )
        return cls("accounts", frozenset(items) - organizations, frozenset(organizations))

    def __str__(self) -> str:
        return self.mode if self.mode != "accounts" else " ".join(sorted(self.accounts | self.organizations))


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; `Settings.from_env()` reads it from the environment."""

    share_tag_key: str = "share-with"
    consumer_role_name: str = "secretshare-publisher"
    parameter_prefix: str = "/secretshare"
    allowed_consumers: AllowList = AllowList(ALLOW_ORGANIZATION)
    shared_key_arn: str = ""
    key_mode: str = KEY_MODE_POOL
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
        """Read SHARE_TAG_KEY, CONSUMER_ROLE_NAME, PARAMETER_PREFIX, ALLOWED_CONSUMERS, SHARED_KEY_ARN, KEY_MODE,
        QUEUE_URL, SHARE_UNTIL_TAG_KEY, EXPIRY_SCHEDULE_GROUP, EXPIRY_SCHEDULE_ROLE_ARN, QUEUE_ARN, SWEEP_QUEUE_URL and
        DEAD_LETTER_QUEUE_URL."""
        env = os.environ if environ is None else environ
        default = cls()
        share_tag_key = _tag_key(env, "SHARE_TAG_KEY", default.share_tag_key, reserve=len(_STATUS_SUFFIX))
        until_key = _tag_key(env, "SHARE_UNTIL_TAG_KEY", default.share_until_tag_key)
        if until_key in (share_tag_key, share_tag_key + _STATUS_SUFFIX) or until_key.startswith(share_tag_key + "/"):
            raise ConfigurationError(
                f"SHARE_UNTIL_TAG_KEY={until_key!r} collides with SHARE_TAG_KEY={share_tag_key!r} (its keys "
                f"{share_tag_key}/... hold entries and {share_tag_key}{_STATUS_SUFFIX} the status): choose another key"
            )
        group = env.get("EXPIRY_SCHEDULE_GROUP", "").strip() or default.expiry_schedule_group
        if not _SCHEDULE_GROUP.fullmatch(group):
            raise ConfigurationError(
                f"EXPIRY_SCHEDULE_GROUP={group!r} is not a Scheduler group name (1 to 64 letters, digits, _ . -)"
            )
        return cls(
            share_tag_key=share_tag_key,
            consumer_role_name=_role_name(env.get("CONSUMER_ROLE_NAME", default.consumer_role_name)),
            parameter_prefix=_parameter_prefix(env.get("PARAMETER_PREFIX", default.parameter_prefix)),
            allowed_consumers=AllowList.parse(env.get("ALLOWED_CONSUMERS", ALLOW_ORGANIZATION)),
            shared_key_arn=_arn(
                env, "SHARED_KEY_ARN", "kms", "key/", "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"
            ),
            key_mode=_key_mode(env.get("KEY_MODE", "")),
            queue_url=_queue_url(env, "QUEUE_URL", fifo=True),
            share_until_tag_key=until_key,
            expiry_schedule_group=group,
            expiry_schedule_role_arn=_arn(
                env, "EXPIRY_SCHEDULE_ROLE_ARN", "iam", "role/", "an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            ),
            queue_arn=_arn(env, "QUEUE_ARN", "sqs", "", "an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>)"),
            sweep_queue_url=_queue_url(env, "SWEEP_QUEUE_URL"),
            dead_letter_queue_url=_queue_url(env, "DEAD_LETTER_QUEUE_URL"),
        )

    def consumer_role_arn(self, partition: str, account: str) -> str:
        """The role in a consumer account that publishes its parameters."""
        return f"arn:{partition}:iam::{account}:role/{self.consumer_role_name}"


# How a deployed stack (template.yaml) passes its settings to the functions: the environment variable each
# parameter or output becomes (Globals.Function.Environment), so the command line can act with exactly its settings.
STACK_PARAMETER_SETTINGS = {
    "ShareTagKey": "SHARE_TAG_KEY",
    "ShareUntilTagKey": "SHARE_UNTIL_TAG_KEY",
    "ConsumerRoleName": "CONSUMER_ROLE_NAME",
    "ParameterPrefix": "PARAMETER_PREFIX",
    "AllowedConsumers": "ALLOWED_CONSUMERS",
    "SharedKeyArn": "SHARED_KEY_ARN",
    "KeyMode": "KEY_MODE",
}
# Parameters added since the first release, with the value a stack deployed before them acts with.
LATER_STACK_PARAMETERS = {"KeyMode": KEY_MODE_DEDICATED}
STACK_OUTPUT_SETTINGS = {
    "ExpiryScheduleGroupName": "EXPIRY_SCHEDULE_GROUP",
    "ExpiryScheduleRoleArn": "EXPIRY_SCHEDULE_ROLE_ARN",
    "ReconcileQueueUrl": "QUEUE_URL",
    "ReconcileQueueArn": "QUEUE_ARN",
}
# The settings that decide what is granted: a command line run whose values differ from a deployed stack's would undo
# what its functions do.
GRANTING_SETTINGS = (
    "share_tag_key",
    "share_until_tag_key",
    "consumer_role_name",
    "parameter_prefix",
    "allowed_consumers",
    "shared_key_arn",
)


def granting_differences(ours: Settings, theirs: Settings) -> dict[str, tuple[str, str]]:
    """The settings that decide what is granted and differ: name -> (ours, theirs), as strings."""
    found = {name: (str(getattr(ours, name)), str(getattr(theirs, name))) for name in GRANTING_SETTINGS}
    return {name: values for name, values in found.items() if values[0] != values[1]}


def _key_mode(value: str) -> str:
    mode = value.strip() or KEY_MODE_POOL
    if mode not in KEY_MODES:
        raise ConfigurationError(f"KEY_MODE={mode!r}: expected {' or '.join(map(repr, KEY_MODES))}")
    return mode


def _role_name(value: str) -> str:
    """CONSUMER_ROLE_NAME checked against IAM's rules for role names, so a bad value fails before anything is written
    (not later, as every consumer account unreachable, once account A's grants are in place)."""
    name = value.strip()
    variable = f"CONSUMER_ROLE_NAME={name!r}"
    if not name:
        raise ConfigurationError(
            "CONSUMER_ROLE_NAME is empty: name the publisher role of the consumer stacks (their RoleName; "
            f"default {Settings.consumer_role_name!r})"
        )
    if name.startswith("arn:") or "/" in name:
        last = name.rsplit("/", 1)[-1] or "secretshare-publisher"
        raise ConfigurationError(
            f"{variable} is an ARN or a path: give the role's name alone (like {last!r}); secretshare builds "
            "arn:<partition>:iam::<consumer account>:role/<name> for each consumer account"
        )
    if len(name) > ROLE_NAME_MAX_CHARS:
        raise ConfigurationError(
            f"{variable} is {len(name)} characters long; IAM role names have at most {ROLE_NAME_MAX_CHARS}"
        )
    odd = _first_not_matching(name, _ROLE_NAME_CHARACTERS)
    if odd is not None:
        raise ConfigurationError(
            f"{variable} contains {_character(odd)}; IAM role names hold only letters, digits and + = , . @ _ -"
        )
    return name


def _tag_key(env: Mapping[str, str], variable: str, default: str, *, reserve: int = 0) -> str:
    key = env.get(variable, "").strip() or default
    limit = TAG_KEY_MAX_CHARS - reserve
    if len(key) > limit:
        extra = f" (the status tag adds {_STATUS_SUFFIX!r} to it)" if reserve else ""
        raise ConfigurationError(f"{variable}={key!r} is {len(key)} characters long; at most {limit}{extra}")
    if key.lower().startswith("aws:"):
        raise ConfigurationError(f"{variable}={key!r} starts with 'aws:', a prefix only AWS may use in tag keys")
    odd = _first_not_matching(key, _TAG_KEY_CHARACTERS)
    if odd is not None:
        raise ConfigurationError(
            f"{variable}={key!r} contains {_character(odd)}; tag keys hold only letters, digits, spaces and "
            "_ . : / = + - @"
        )
    return key


def _parameter_prefix(value: str) -> str:
    prefix = value.strip()
    variable = f"PARAMETER_PREFIX={prefix!r}"
    if not prefix.startswith("/"):
        raise ConfigurationError(f"{variable} must start with '/' (like '/secretshare')")
    if not _PARAMETER_PREFIX.fullmatch(prefix):
        raise ConfigurationError(
            f"{variable} is not a parameter path: '/'-separated names of letters, digits and _ . -, without a "
            "trailing '/' or an empty level"
        )
    if prefix.lower().startswith(("/aws", "/ssm")):
        raise ConfigurationError(f"{variable}: parameter names beginning with 'aws' or 'ssm' are reserved by AWS")
    return prefix


def _arn(env: Mapping[str, str], variable: str, service: str, resource_prefix: str, shape: str) -> str:
    """An ARN setting (empty when unset), checked for its service and resource type."""
    value = env.get(variable, "").strip()
    if not value:
        return ""
    arn = parse_arn(value)
    if (
        arn is None
        or arn.service != service
        or not arn.resource.startswith(resource_prefix)
        or arn.resource == resource_prefix
        or not is_account_id(arn.account)
        or (service != "iam" and not arn.region)
    ):
        raise ConfigurationError(f"{variable}={value!r} is not {shape}")
    return value


def _queue_url(env: Mapping[str, str], variable: str, *, fifo: bool = False) -> str:
    """A queue URL setting (empty when unset)."""
    return check_queue_url(variable, env.get(variable, ""), fifo=fifo)


def check_queue_url(variable: str, value: str, *, fifo: bool = False) -> str:
    """`value` as a queue URL (empty stays empty), or ConfigurationError naming `variable` (a setting or option)."""
    value = value.strip()
    if not value:
        return ""
    if not value.startswith(("https://", "http://")) or value.rstrip("/").count("/") < 3:
        raise ConfigurationError(
            f"{variable}={value!r} is not a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)"
        )
    if fifo and not value.rstrip("/").endswith(".fifo"):
        raise ConfigurationError(
            f"{variable}={value!r} is not a FIFO queue (its name ends in .fifo): reconciliations are queued in one "
            "message group so that no two edit a shared key policy at once"
        )
    return value


def _allow_list_hint(item: str) -> str:
    if item.lower() in (ALLOW_ORGANIZATION, ALLOW_ANY):
        return f" (did you mean {item.lower()!r}? it is written in lower case)"
    if re.fullmatch(r"[0-9]{4}-[0-9]{4}-[0-9]{4}", item):
        return f" (write it without dashes: {item.replace('-', '')!r})"
    return ""


def _first_not_matching(text: str, allowed: re.Pattern[str]) -> str | None:
    return next((character for character in text if not allowed.fullmatch(character)), None)


def _character(character: str) -> str:
    return f"{character!r} (U+{ord(character):04X})"
