"""AWS's limits and shapes that moto does not enforce, checked once, here (docs/aws-facts.md §9).

- A key policy holds at most 32 KB: "If the key policy exceeds the length constraint, KMS returns a
  LimitExceededException" (botocore's CreateKey and PutKeyPolicy documentation).
- A secret's resource policy holds at most 20,480 characters (botocore's PutResourcePolicy model); the service
  answers a request outside its model's constraints with a validation error (inferred: the message is the one AWS's
  JSON services give for a length constraint).
- An SSM parameter name: letters, digits and `_ . -` between slashes, at most 15 levels, and at most 1011 characters
  counted with its ARN's prefix; none beginning with `aws` or `ssm` (SSM user guide, parameter naming).
- A tag value: at most 256 characters (the services' models). Which characters a service refuses is not in its model
  (AWS's tagging guide says it varies by service): not checked.
- The lockout safety check of a new key policy (see `lockout_step`).
"""

from __future__ import annotations

import json
import re

from .authorization import Step, key_arn
from .requests import AwsRequest

KEY_POLICY_MAX_BYTES = 32 * 1024
RESOURCE_POLICY_MAX_CHARS = 20_480
_PARAMETER_NAME = re.compile(r"(/[A-Za-z0-9_.-]+)+")
_PARAMETER_MAX_LEVELS = 15
_PARAMETER_NAME_MAX = 1011
_TAG_VALUE_MAX = 256

Refusal = tuple[int, str, str]


def refusal(request: AwsRequest) -> Refusal | None:
    """The service's answer to a request outside AWS's limits, or None."""
    parameters = request.parameters
    key_policy = parameters.get("Policy") if request.name in ("kms.CreateKey", "kms.PutKeyPolicy") else None
    if key_policy and len(key_policy.encode()) > KEY_POLICY_MAX_BYTES:
        return (
            400,
            "LimitExceededException",
            "The request was rejected because a length constraint or quota was exceeded.",
        )
    resource_policy = parameters.get("ResourcePolicy", "") if request.name == "secretsmanager.PutResourcePolicy" else ""
    if len(resource_policy) > RESOURCE_POLICY_MAX_CHARS:
        return 400, "ValidationException", _too_long("resourcePolicy", RESOURCE_POLICY_MAX_CHARS)
    if request.service == "ssm" and "Name" in parameters:
        return _parameter_name(request)
    if request.name in ("kms.TagResource", "kms.CreateKey", "secretsmanager.TagResource"):
        return _tag_values(request)
    return None


def _too_long(member: str, limit: int) -> str:
    return (
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less "
        f"than or equal to {limit}"
    )


def _parameter_name(request: AwsRequest) -> Refusal | None:
    name = request.parameters["Name"]
    prefix = len(f"arn:aws:ssm:{request.region}:{'0' * 12}:parameter")  # every account id has twelve digits
    if not _PARAMETER_NAME.fullmatch(name) or name.lower().startswith(("/aws", "/ssm")):
        return 400, "ValidationException", f"Parameter name: {name!r} is not a valid parameter name."
    if name.count("/") > _PARAMETER_MAX_LEVELS:
        return 400, "HierarchyLevelLimitExceededException", "Parameter name hierarchy exceeds the limit of 15 levels."
    if len(name) + prefix > _PARAMETER_NAME_MAX:
        return 400, "ValidationException", _too_long("name", _PARAMETER_NAME_MAX - prefix)
    return None


def _tag_values(request: AwsRequest) -> Refusal | None:
    tags = request.parameters.get("Tags", [])
    for tag in tags:
        value = tag.get("Value", tag.get("TagValue", ""))
        if len(value) > _TAG_VALUE_MAX:
            code = "TagException" if request.service == "kms" else "ValidationException"
            return 400, code, _too_long("tags.member.value", _TAG_VALUE_MAX)
    return None


def lockout_step(request: AwsRequest, account: str) -> Step | None:
    """What KMS checks of a new key policy: that it lets the caller change it later ("The key policy must allow the
    calling principal to make a subsequent PutKeyPolicy request", botocore's CreateKey documentation)."""
    if request.name not in ("kms.CreateKey", "kms.PutKeyPolicy") or not request.parameters.get("Policy"):
        return None
    if request.parameters.get("BypassPolicyLockoutSafetyCheck"):
        return None
    arn = key_arn(account, request.region, request.parameters.get("KeyId"))
    context = {"kms:CallerAccount": account}
    return Step("kms:PutKeyPolicy", arn, account, json.loads(request.parameters["Policy"]), context)
