"""STS in account A: who the credentials act as."""

from __future__ import annotations

from .base import FIRST_CALL_CONFIG, Service, calls


class Sts(Service):
    """The identity of account A's credentials."""

    name = "sts"

    @calls("sts:GetCallerIdentity")
    def caller_arn(self, region: str | None, *, first_call: bool = False) -> str:
        """The ARN account A's credentials act as (its partition and account name a secret known only by name).
        As a command's `first_call`, it gives up within seconds when nothing answers (FIRST_CALL_CONFIG)."""
        return self._client(region, FIRST_CALL_CONFIG if first_call else None).get_caller_identity()["Arn"]
