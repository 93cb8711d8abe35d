"""STS in account A: who the credentials act as."""

from __future__ import annotations

from .base import Service, calls


class Sts(Service):
    """The identity of account A's credentials."""

    name = "sts"

    @calls("sts:GetCallerIdentity")
    def caller_arn(self, region: str | None) -> str:
        """The ARN account A's credentials act as (its partition and account name a secret known only by name)."""
        return self._client(region).get_caller_identity()["Arn"]
