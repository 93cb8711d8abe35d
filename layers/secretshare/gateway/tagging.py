"""The Resource Groups Tagging API: the keys that carry secretshare's tag, found with one query per region."""

from __future__ import annotations

from typing import Any

from .base import Service, calls


class Tagging(Service):
    """The tagging query that finds keys by tag."""

    name = "resourcegroupstaggingapi"

    @calls("resourcegroupstaggingapi:GetResources")
    def tagged_keys(self, tag: str, values: list[str], region: str) -> dict[str, dict[str, str]]:
        """ARNs of the KMS keys whose `tag` has one of `values` (every value when `values` is empty), each with all
        its tags (one query per 100 keys, docs/aws-facts.md §11)."""
        tag_filter: dict[str, Any] = {"Key": tag, **({"Values": values} if values else {})}
        pages = (
            self._client(region)
            .get_paginator("get_resources")
            .paginate(ResourceTypeFilters=["kms:key"], TagFilters=[tag_filter])
        )
        return {
            found["ResourceARN"]: {tag["Key"]: tag["Value"] for tag in found.get("Tags", [])}
            for page in pages
            for found in page["ResourceTagMappingList"]
        }
