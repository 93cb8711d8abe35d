"""Which secret an event is about, in every event shape the reconcile queue receives. Pure: no boto3.

The event only says *which* secret to look at; reconciliation reads the secret's current tags itself.
Shapes:
- `aws.tag` "Tag Change on Resource", and secretshare's own requests (`reconcile_request`: the sweep's, and the
  expiry schedule's): the secret ARN is `resources[0]`.
- "AWS API Call via CloudTrail" from Secrets Manager: `responseElements.arn` (older events spell it `aRN`),
  else `requestParameters.secretId` (a name, full ARN or partial ARN, as the caller wrote it), else
  `requestParameters.name` (CreateSecret).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .arns import parse_arn
from .errors import SecretShareError

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
# CloudTrail has spelled the response's ARN field both ways over the years.
_RESPONSE_ARN_FIELDS = ("arn", "aRN")
_REQUEST_SECRET_FIELDS = ("secretId", "name")


# One message group: the reconcile function takes one batch at a time, in order (it reconciles the secrets of a batch
# in parallel, one secret's records in their order, and one reconciliation at a time per key policy).
MESSAGE_GROUP_ID = "secretshare"
# "-" and six characters: what Secrets Manager appends to a secret's name in its ARN.
_SUFFIX_LIKE = re.compile(r"(-[A-Za-z0-9]{6})+$")
EXPIRY_SOURCE = "secretshare.expiry"
EXPIRY_DETAIL_TYPE = "Share Expired"


def reconcile_request(
    secret_arn: str, source: str, detail_type: str, detail: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """An EventBridge-shaped event asking for one secret's reconciliation (the sweep's, the expiry schedule's, a
    retry's); `detail` says more (it also keeps two different requests apart under content-based deduplication)."""
    return {
        "version": "0",
        "source": source,
        "detail-type": detail_type,
        "resources": [secret_arn],
        "detail": dict(detail or {}),
    }


class UnrecognizedEvent(SecretShareError, ValueError):
    """An event that names no secret: retrying cannot fix it, so it belongs in the dead-letter queue."""


def secret_id_from_event(event: Mapping[str, Any]) -> str:
    """The secret an EventBridge event is about: a full ARN where the event carries one, else a name or partial ARN.

    Raises UnrecognizedEvent, naming the event, when no shape matches.
    """
    if not isinstance(event, Mapping):
        raise UnrecognizedEvent(f"expected an EventBridge event (a JSON object), got {type(event).__name__}")
    detail = event.get("detail")
    if event.get("detail-type") == CLOUDTRAIL_DETAIL_TYPE and isinstance(detail, Mapping):
        found = _from_cloudtrail(detail)
    else:
        found = _from_resources(event.get("resources"))
    if found is None:
        raise UnrecognizedEvent(
            f"no secret found in event {_describe(event)}: expected a Secrets Manager secret ARN in resources[0] "
            "(aws.tag, secretshare.sweep) or, for CloudTrail, responseElements.arn/aRN, requestParameters.secretId "
            "or requestParameters.name"
        )
    return found


def same_secret_key(secret_id: str) -> str:
    """A key shared by every way an event can name one secret (name, partial ARN, full ARN; any region).

    Events name a secret by ARN or, in CloudTrail, as the caller wrote it, and a name may itself end like an ARN's
    random suffix, so the key is the name with every suffix-like ending cut off: two secrets may share a key (their
    records then run one after the other), one secret never gets two.
    """
    arn = parse_arn(secret_id)
    name = arn.resource.removeprefix("secret:") if arn is not None else secret_id
    return _SUFFIX_LIKE.sub("", name)


def _from_cloudtrail(detail: Mapping[str, Any]) -> str | None:
    response = detail.get("responseElements")
    if isinstance(response, Mapping):
        for field in _RESPONSE_ARN_FIELDS:
            value = response.get(field)
            if isinstance(value, str) and _is_secret_arn(value):
                return value
    request = detail.get("requestParameters")
    if isinstance(request, Mapping):
        for field in _REQUEST_SECRET_FIELDS:
            value = request.get(field)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _from_resources(resources: object) -> str | None:
    if isinstance(resources, list) and resources and isinstance(resources[0], str) and _is_secret_arn(resources[0]):
        return resources[0]
    return None


def _is_secret_arn(text: str) -> bool:
    arn = parse_arn(text)
    return arn is not None and arn.service == "secretsmanager" and arn.resource.startswith("secret:")


def _describe(event: Mapping[str, Any]) -> str:
    """Enough of an event to find it in the logs: id, source, detail-type and, for CloudTrail, the API call."""
    parts = [f"id={event.get('id', '?')}", f"source={event.get('source', '?')}"]
    parts.append(f"detail-type={event.get('detail-type', '?')!r}")
    detail = event.get("detail")
    if isinstance(detail, Mapping) and "eventName" in detail:
        parts.append(f"eventName={detail['eventName']}")
    return " ".join(parts)
