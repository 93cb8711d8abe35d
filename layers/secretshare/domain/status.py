"""The `share-with-status` tag: the outcome of the last reconciliation, on the secret itself. Pure: no boto3.

The person who tagged the secret sees the result where they acted, without opening CloudWatch. Values:
`ok 2 consumers`, `ok 1 consumer until 2026-12-31T00:00:00Z`, `expired 2026-12-31T00:00:00Z`,
`error 1 rejected: 12345 not-an-account / ok 1 consumer`, `error 1 unreachable: 444444444444 / ok 2 consumers`,
`error 1 rejected: 12345 not-an-account / nothing granted`, `error key-not-usable`. Problems come first, so a
truncated value still shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .sharetag import RejectedEntry, format_time

# AWS tag values: at most 256 characters, letters, digits, spaces and _ . : / = + - @ only.
STATUS_MAX_CHARS = 256
_NOT_ALLOWED_IN_TAG = re.compile(r"[^\w\s.:/=+\-@]", re.ASCII)
_ELLIPSIS = "..."
# Where nobody is granted because of a problem the value names first ("ok 0 consumers" would contradict it).
NOTHING_GRANTED = "nothing granted"
# Which way ALLOWED_CONSUMERS=organization held: see Outcome.organization_listed.
ORG_CHECKED = "org members checked"
ORG_ENFORCED = "org membership enforced by AWS"


@dataclass(frozen=True)
class Outcome:
    """What one reconciliation achieved, as the status tag reports it.

    `expired` with no `until` is a share whose `share-until` cannot be read: it grants nothing until it is fixed.
    """

    consumers: int
    rejected: tuple[RejectedEntry, ...] = ()
    unreachable: tuple[str, ...] = ()
    until: datetime | None = None
    expired: bool = False
    unshared_replicas: tuple[str, ...] = ()  # regions of replicas that cannot be shared
    # Under ALLOWED_CONSUMERS=organization: whether A could list its organization's accounts (members checked up
    # front, and AWS enforces it) or not (AWS enforces it, through aws:PrincipalOrgID); None under another setting.
    organization_listed: bool | None = None
    # Whether the secret carries share tags; one that does not has no status, unless a consumer account failed.
    tagged: bool = True


def status_value(outcome: Outcome) -> str | None:
    """The status tag value for an outcome, within AWS's tag-value limits; None: the secret has no status tag."""
    if not (outcome.tagged or outcome.unreachable):
        return None
    problems = []
    if outcome.rejected:
        entries = " ".join(f"{tag_safe(entry.entry)} {entry.code}" for entry in outcome.rejected)
        problems.append(f"{len(outcome.rejected)} rejected: {entries}")
    if outcome.unreachable:
        problems.append(f"{len(outcome.unreachable)} unreachable: {' '.join(sorted(outcome.unreachable))}")
    if outcome.unshared_replicas:
        regions = outcome.unshared_replicas
        problems.append(f"{len(regions)} replica{'s' if len(regions) > 1 else ''} not shared: {' '.join(regions)}")
    if outcome.expired and outcome.until is not None:
        result = f"expired {format_time(outcome.until)}"
    elif (outcome.expired or not outcome.consumers) and problems:
        result = NOTHING_GRANTED
    else:
        result = f"ok {_consumers(outcome.consumers)}"
        if outcome.until is not None:
            result += f" until {format_time(outcome.until)}"
        if outcome.organization_listed is not None and outcome.consumers:
            result += f" / {ORG_CHECKED if outcome.organization_listed else ORG_ENFORCED}"
    if problems:
        return tag_safe(f"error {' / '.join(problems)} / {result}")
    return tag_safe(result)


def error_value(code: str) -> str:
    """The status tag value of a reconciliation that failed as a whole."""
    return tag_safe(f"error {code}")


def promises_expiry(value: str | None) -> bool:
    """True when a status value reports an active time-boxed share, for which an expiry schedule was made."""
    return " until " in (value or "")


def tag_safe(text: str) -> str:
    """`text` with each character AWS refuses in tag values written as its code point (`*` as `U+002A`, so the
    entry stays recognisable), cut to 256 characters."""
    safe = _NOT_ALLOWED_IN_TAG.sub(lambda found: f"U+{ord(found.group()):04X}", text)
    if len(safe) <= STATUS_MAX_CHARS:
        return safe
    return safe[: STATUS_MAX_CHARS - len(_ELLIPSIS)] + _ELLIPSIS


def _consumers(count: int) -> str:
    return f"{count} consumer" if count == 1 else f"{count} consumers"
