"""AWS catching up with itself, where secretshare depends on it (docs/aws-facts.md §11, §17).

- The Resource Groups Tagging API reads an index of tags kept apart from the services ("tagged or previously tagged
  resources", botocore's GetResources documentation); a key tagged seconds ago may be missing from it, a key untagged
  may still be there. `TaggingIndex` answers GetResources with the tags a key had before its last change, until time
  passes.
- KMS: "AWS KMS might return a NotFoundException if you call [an operation on a key] immediately after calling
  CreateKey" (KMS developer guide, "eventual consistency"). `NewKeys` answers NotFoundException once to the first
  request of ours that names a key it just created.
- EventBridge Scheduler refuses a one-off schedule whose `at()` has passed (../shared/TESTING.md). AWS documents no
  message for it: the one given here is the layer's own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from moto.kms.models import kms_backends

from .requests import Answer, AwsRequest

# Tags, by key and value; None: not in the index at all.
Tags = dict[str, str] | None


def tags_before(request: AwsRequest) -> tuple[str, Tags] | None:
    """The key a request is about to tag or untag, with its tags now (for the index to keep showing)."""
    if request.service != "kms" or request.operation not in ("TagResource", "UntagResource"):
        return None
    account = request.parameters.get("KeyId", "").split(":")[4] if ":" in request.parameters.get("KeyId", "") else None
    for backend in _kms(account, request.region):
        try:
            key_id = backend.get_key_id(request.parameters["KeyId"])
            key = backend.keys[key_id]
        except KeyError:
            continue
        tags = {tag["TagKey"]: tag["TagValue"] for tag in backend.list_resource_tags(key_id)["Tags"]}
        return key.arn, tags or None
    return None


def _kms(account: str | None, region: str) -> list[Any]:
    accounts = [account] if account else list(kms_backends.keys())
    return [kms_backends[a][region] for a in accounts if region in kms_backends[a]]


class TaggingIndex:
    """The tagging API's view of keys, behind KMS's own until time passes."""

    def __init__(self) -> None:
        self.behind: dict[str, Tags] = {}  # key ARN -> the tags the index still shows

    def catch_up(self) -> None:
        self.behind.clear()

    def observe(self, request: AwsRequest, answer: Answer, before: tuple[str, Tags] | None) -> Answer:
        """Remember a key whose tags just changed; answer GetResources as the lagging index would."""
        status, headers, body = answer
        if status >= 300:
            return answer
        if request.name == "kms.CreateKey" and request.parameters.get("Tags"):
            self.behind.setdefault(json.loads(body)["KeyMetadata"]["Arn"], None)
        elif before is not None:
            self.behind.setdefault(*before)
        elif request.name == "resourcegroupstaggingapi.GetResources" and self.behind:
            return status, headers, json.dumps(self._lagging(request, json.loads(body)))
        return answer

    def _lagging(self, request: AwsRequest, page: dict[str, Any]) -> dict[str, Any]:
        if "kms:key" not in request.parameters.get("ResourceTypeFilters", ["kms:key"]):
            return page
        lagging = {arn: tags for arn, tags in self.behind.items() if arn.split(":")[3] == request.region}
        found = [entry for entry in page.get("ResourceTagMappingList", []) if entry["ResourceARN"] not in lagging]
        if not page.get("PaginationToken"):
            filters = request.parameters.get("TagFilters", [])
            found += [
                {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                for arn, tags in lagging.items()
                if tags is not None and _matches(tags, filters)
            ]
        return {**page, "ResourceTagMappingList": found}


def _matches(tags: dict[str, str], filters: list[dict[str, Any]]) -> bool:
    """GetResources' TagFilters: every filter's key present, with one of its values where it lists any."""
    return all(f["Key"] in tags and (not f.get("Values") or tags[f["Key"]] in f["Values"]) for f in filters)


class NewKeys:
    """Keys KMS created that it may not find yet: the first request of ours naming one is answered NotFound."""

    def __init__(self) -> None:
        self.settling: dict[str, str] = {}  # key id -> key ARN

    def settle(self) -> None:
        self.settling.clear()

    def observe(self, request: AwsRequest, answer: Answer) -> None:
        if request.name == "kms.CreateKey" and answer[0] < 300:
            metadata = json.loads(answer[2])["KeyMetadata"]
            self.settling[metadata["KeyId"]] = metadata["Arn"]

    def refusal(self, request: AwsRequest) -> str | None:
        """The ARN of the just-created key a KMS request names (it is answered NotFound, once), or None."""
        if request.service != "kms":
            return None
        for name in ("KeyId", "TargetKeyId"):
            named = str(request.parameters.get(name, "")).rsplit("/", 1)[-1]
            if named in self.settling:
                return self.settling.pop(named)
        return None


def scheduler_refusal(request: AwsRequest) -> tuple[int, str, str] | None:
    """Scheduler's answer to a one-off schedule set for a moment already past."""
    if request.service != "scheduler" or request.operation not in ("CreateSchedule", "UpdateSchedule"):
        return None
    expression = str(request.parameters.get("ScheduleExpression", ""))
    if not expression.startswith("at(") or request.parameters.get("ScheduleExpressionTimezone", "UTC") != "UTC":
        return None
    moment = datetime.strptime(expression, "at(%Y-%m-%dT%H:%M:%S)").replace(tzinfo=UTC)
    if moment > datetime.now(UTC):
        return None
    return 400, "ValidationException", f"The schedule expression {expression} is in the past."
