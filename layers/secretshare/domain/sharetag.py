"""The share tags' grammar: which principals a secret's tags ask to share with, and until when. Pure: no boto3."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from .consumers import Admission, Consumer, InvalidShareEntry, as_consumers, parse_entry

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


@dataclass(frozen=True)
class ShareTag:
    """What the share tags ask for: accepted consumer principals (sorted), rejected entries, and the expiry.

    `until` is when the share ends (None: no end). A `share-until` that cannot be read is rejected and
    ends the share at once (`until_valid` False): an unreadable end date must never extend a share.
    """

    consumers: tuple[Consumer, ...] = ()
    rejected: tuple[RejectedEntry, ...] = ()
    until: datetime | None = None
    until_valid: bool = True
    # The tag entry each consumer came from (`222222222222` for `arn:aws:iam::222222222222:root`).
    entries: Mapping[Consumer, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Consumers given as text (a principal ARN, an organization or OU) become consumers of their kind.
        object.__setattr__(self, "consumers", tuple(as_consumers(self.consumers)))

    def expired(self, now: datetime) -> bool:
        """True once the share has ended (or its end date cannot be read): then it grants nobody."""
        return not self.until_valid or (self.until is not None and now >= self.until)

    def consumers_at(self, now: datetime) -> tuple[Consumer, ...]:
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
        return tuple(sorted({consumer.account or "" for consumer in self.consumers}))


def is_share_tag_key(key: str, tag_key: str) -> bool:
    """True for the share tag `tag_key` and every `<tag_key>/<anything>`."""
    return key == tag_key or key.startswith(tag_key + "/")


def share_tag_entries(tags: Iterable[Mapping[str, str]], tag_key: str) -> list[str]:
    """Entries of the share tag and of every `<tag_key>/<anything>` tag, in tag-key order."""
    selected = sorted((tag["Key"], tag.get("Value", "")) for tag in tags if is_share_tag_key(tag["Key"], tag_key))
    return [entry for _, value in selected for entry in value.split()]


def tag_value(tags: Iterable[Mapping[str, str]], key: str) -> str | None:
    """The value of the tag `key`, None when the secret does not carry it."""
    return next((tag.get("Value", "") for tag in tags if tag["Key"] == key), None)


def has_share_tag(tags: Iterable[Mapping[str, str]], tag_key: str) -> bool:
    """True when any share tag key is present, even with an empty value."""
    return any(is_share_tag_key(tag["Key"], tag_key) for tag in tags)


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
    admission = Admission(producer_account, allowed_accounts, allowed_organizations, allow_list_name)
    consumers: dict[Consumer, str] = {}
    rejected: dict[str, RejectedEntry] = {}
    for entry in share_tag_entries(tags, tag_key):
        try:
            found = parse_entry(entry, partition)
            found.admit(entry, admission)
        except InvalidShareEntry as err:
            rejected.setdefault(entry, RejectedEntry(entry, str(err), err.code))
        else:
            consumers.setdefault(found, entry)
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
