"""The share tags' grammar: which principals a secret's tags ask to share with, and until when. Pure: no boto3."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from .arns import account_root, is_account_id, parse_arn, principal_account
from .orgs import MalformedScope, parse_scope, scope_organization

# IAM path segments and names: alphanumerics and +=,.@_- (names at most 64 characters).
_IAM_NAME = r"[\w+=,.@-]"
_ROLE_OR_USER = re.compile(rf"(role|user)(/{_IAM_NAME}+)*/{_IAM_NAME}{{1,64}}", re.ASCII)
# `share-until`: an ISO 8601 date, or a date-time with minutes or seconds and an optional UTC offset.
_UNTIL = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?", re.ASCII)


@dataclass(frozen=True)
class RejectedEntry:
    """A tag entry that grants nothing, with the reason a human can act on."""

    entry: str
    reason: str
    # A short, tag-safe word for the `share-with-status` tag (a tag value allows few characters).
    code: str = "rejected"

    def __str__(self) -> str:
        return self.reason


class InvalidShareEntry(ValueError):
    """One tag entry is not a consumer secretshare can grant; `code` is the short word the status tag shows."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ShareTag:
    """What the share tags ask for: accepted consumer principals (sorted), rejected entries, and the expiry.

    `until` is when the share ends (None: no end). A `share-until` that cannot be read is rejected and
    ends the share at once (`until_valid` False): an unreadable end date must never extend a share.
    """

    consumers: tuple[str, ...] = ()
    rejected: tuple[RejectedEntry, ...] = ()
    until: datetime | None = None
    until_valid: bool = True
    # The tag entry each consumer came from (`222222222222` for `arn:aws:iam::222222222222:root`).
    entries: Mapping[str, str] = field(default_factory=dict)

    def expired(self, now: datetime) -> bool:
        """True once the share has ended (or its end date cannot be read): then it grants nobody."""
        return not self.until_valid or (self.until is not None and now >= self.until)

    def consumers_at(self, now: datetime) -> tuple[str, ...]:
        """The consumers granted at `now`: none once the share has expired."""
        return () if self.expired(now) else self.consumers

    def refusing(self, refused: Mapping[str, str]) -> ShareTag:
        """This share without the principals AWS refused, each rejected with AWS's reason."""
        kept = tuple(p for p in self.consumers if p not in refused)
        newly = tuple(
            RejectedEntry(self.entries.get(p, p), f"{p!r}: AWS rejected this principal ({reason})", "refused-by-aws")
            for p, reason in refused.items()
            if p in self.consumers
        )
        return replace(self, consumers=kept, rejected=self.rejected + newly)

    @property
    def consumer_accounts(self) -> tuple[str, ...]:
        """Distinct accounts of the accepted consumers, sorted."""
        return tuple(sorted({principal_account(p) or "" for p in self.consumers}))


def share_tag_entries(tags: Iterable[Mapping[str, str]], tag_key: str) -> list[str]:
    """Entries of the share tag and of every `<tag_key>/<anything>` tag, in tag-key order."""
    selected = sorted(
        (tag["Key"], tag.get("Value", ""))
        for tag in tags
        if tag["Key"] == tag_key or tag["Key"].startswith(tag_key + "/")
    )
    return [entry for _, value in selected for entry in value.split()]


def tag_value(tags: Iterable[Mapping[str, str]], key: str) -> str | None:
    """The value of the tag `key`, None when the secret does not carry it."""
    return next((tag.get("Value", "") for tag in tags if tag["Key"] == key), None)


def has_share_tag(tags: Iterable[Mapping[str, str]], tag_key: str) -> bool:
    """True when any share tag key is present, even with an empty value."""
    return any(tag["Key"] == tag_key or tag["Key"].startswith(tag_key + "/") for tag in tags)


def entry_principal(entry: str, partition: str) -> str:
    """The IAM principal ARN an entry grants, or InvalidShareEntry saying why it cannot be granted."""
    if not entry.isascii():
        # AWS account ids and IAM names are ASCII: fullwidth or Arabic-Indic digits, or `role/ápp`, name nobody.
        odd = next(ch for ch in entry if not ch.isascii())
        raise InvalidShareEntry(
            f"{entry!r} contains {odd!r} (U+{ord(odd):04X}); account ids are 12 ASCII digits and IAM names ASCII",
            "non-ascii",
        )
    if "*" in entry or "?" in entry:
        raise InvalidShareEntry(
            f"{entry!r} contains a wildcard; name an account id or an IAM role/user ARN", "wildcard"
        )
    if is_account_id(entry):
        return account_root(partition, entry)
    if entry.startswith("arn:"):
        return _arn_principal(entry, partition)
    if entry.endswith(".amazonaws.com") or entry.endswith(".amazonaws.com.cn"):
        raise InvalidShareEntry(
            f"{entry!r} is a service principal; only accounts and IAM roles/users can be consumers", "service-principal"
        )
    raise InvalidShareEntry(
        f"{entry!r} is not a 12-digit account id or an IAM role/user ARN{_hint(entry)}", "not-an-account"
    )


def _arn_principal(entry: str, partition: str) -> str:
    arn = parse_arn(entry)
    if arn is None or not is_account_id(arn.account):
        raise InvalidShareEntry(
            f"{entry!r} is not a well-formed ARN (arn:{partition}:iam::<account>:role/<name>){_hint(entry)}",
            "malformed-arn",
        )
    if arn.partition != partition:
        raise InvalidShareEntry(
            f"{entry!r} is in partition {arn.partition!r}; the secret is in {partition!r}", "other-partition"
        )
    if arn.service == "sts":
        raise InvalidShareEntry(f"{entry!r} is a session principal; name the IAM role ARN instead", "session-principal")
    if arn.service != "iam" or arn.region:
        raise InvalidShareEntry(
            f"{entry!r} is not an IAM ARN; only accounts and IAM roles/users can be consumers", "not-iam"
        )
    if arn.resource == "root":
        return account_root(partition, arn.account)
    if arn.resource.startswith("group/"):
        raise InvalidShareEntry(
            f"{entry!r} is an IAM group, which cannot be a principal; name a role or user", "iam-group"
        )
    if not _ROLE_OR_USER.fullmatch(arn.resource):
        raise InvalidShareEntry(
            f"{entry!r} is not an IAM role or user ARN (arn:{partition}:iam::<account>:role/<path/name>){_hint(entry)}",
            "not-role-or-user",
        )
    return entry


def _hint(entry: str) -> str:
    """What a rejected entry most likely meant: the usual slips, each named."""
    if "," in entry or ";" in entry:
        return "; entries are separated by spaces, not commas or semicolons"
    if re.fullmatch(r"[0-9]{4}-[0-9]{4}-[0-9]{4}", entry):
        return f"; write the account id without dashes ({entry.replace('-', '')})"
    if re.fullmatch(r"[0-9]+", entry):
        return f" (it has {len(entry)} digits)"
    return ""


def parse_share_tag(
    tags: Iterable[Mapping[str, str]],
    *,
    tag_key: str,
    partition: str,
    producer_account: str,
    allowed_accounts: frozenset[str] | None,
    allowed_organizations: frozenset[str] | None = None,
    allow_list_name: str = "ALLOWED_CONSUMERS",
    until_key: str = "share-until",
) -> ShareTag:
    """Parse the share tags into consumers, rejected entries and the `until_key` expiry.

    `allowed_accounts` (`allowed_organizations`) is None when any account (organization) may be a consumer.
    Rejections are returned, never raised: a bad entry must not stop the valid ones from converging.
    """
    consumers: dict[str, str] = {}
    rejected: dict[str, RejectedEntry] = {}
    for entry in share_tag_entries(tags, tag_key):
        try:
            if entry.startswith("o-"):
                principal = _organization_consumer(entry, allowed_organizations, allow_list_name)
            else:
                principal = entry_principal(entry, partition)
                _check_account(entry, principal, producer_account, allowed_accounts, allow_list_name)
        except InvalidShareEntry as err:
            rejected.setdefault(entry, RejectedEntry(entry, str(err), err.code))
        else:
            consumers.setdefault(principal, entry)
    until_value = tag_value(tags, until_key)
    share = ShareTag(tuple(sorted(consumers)), tuple(rejected.values()), entries=consumers)
    if until_value is None:
        return share
    try:
        return replace(share, until=parse_until(until_value))
    except InvalidShareEntry as err:
        bad = RejectedEntry(f"{until_key}={until_value}", f"{until_key}: {err}", err.code)
        return replace(share, rejected=(*share.rejected, bad), until_valid=False)


def parse_until(value: str) -> datetime:
    """A `share-until` value as an aware UTC datetime. A date alone means 00:00 UTC that day."""
    text = value.strip()
    if not _UNTIL.fullmatch(text):
        raise InvalidShareEntry(
            f"{value!r} is not an ISO 8601 date or date-time (2026-12-31 or 2026-12-31T18:00:00Z)", "malformed-date"
        )
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as err:
        raise InvalidShareEntry(f"{value!r} is not a valid date: {err}", "malformed-date") from err
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """A UTC moment as secretshare writes it: 2026-12-31T00:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _organization_consumer(entry: str, allowed: frozenset[str] | None, allow_list_name: str) -> str:
    """An organization or OU entry as its consumer, or InvalidShareEntry saying why it cannot be granted."""
    try:
        scope = parse_scope(entry)
    except MalformedScope as err:
        raise InvalidShareEntry(str(err), "malformed-organization") from err
    organization = scope_organization(scope)
    if allowed is not None and organization not in allowed:
        raise InvalidShareEntry(
            f"{entry!r}: organization {organization} is not allowed by {allow_list_name} (A's own organization is, "
            "under 'organization'; another must be listed)",
            "other-organization",
        )
    return scope


def _check_account(
    entry: str,
    principal: str,
    producer_account: str,
    allowed_accounts: frozenset[str] | None,
    allow_list_name: str,
) -> None:
    account = principal_account(principal)
    if account == producer_account:
        raise InvalidShareEntry(f"{entry!r} is in the producer account {producer_account} itself", "producer-account")
    if allowed_accounts is not None and account not in allowed_accounts:
        raise InvalidShareEntry(f"{entry!r}: account {account} is not allowed by {allow_list_name}", "not-allowed")
