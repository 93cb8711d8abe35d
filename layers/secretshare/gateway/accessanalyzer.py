"""IAM Access Analyzer: whether a resource policy holding statements secretshare did not write is public."""

from __future__ import annotations

from .base import Service, calls


class AccessAnalyzer(Service):
    """The public-access check."""

    name = "accessanalyzer"

    @calls("accessanalyzer:CheckNoPublicAccess")
    def public_access_verdict(self, policy: str, region: str) -> str:
        """IAM Access Analyzer's CheckNoPublicAccess result for a secret resource policy: PASS or FAIL."""
        found = self._client(region).check_no_public_access(
            policyDocument=policy, resourceType="AWS::SecretsManager::Secret"
        )
        return found["result"]
