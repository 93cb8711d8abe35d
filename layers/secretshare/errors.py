"""Error types. Each message names the offending value and says what to do about it."""


class SecretShareError(Exception):
    """Base class for every error secretshare raises on purpose."""

    # The word the `share-with-status` tag shows when a reconciliation fails this way.
    status_code = "failed"


class ConfigurationError(SecretShareError):
    """An environment variable holds a value secretshare cannot use."""

    status_code = "configuration"


class KeyNotUsable(SecretShareError):
    """The secret's KMS key cannot carry grants: another account's, disabled, or not administrable by A."""

    status_code = "key-not-usable"


class AllowListUnavailable(SecretShareError):
    """The consumer allow-list could not be evaluated; nothing is changed until it can."""

    status_code = "allow-list-unavailable"


class PolicyTooLarge(SecretShareError):
    """A policy we would write exceeds its AWS size limit."""

    status_code = "policy-too-large"


class PolicyRejected(SecretShareError):
    """AWS refused a policy we wrote and the principal it objected to could not be singled out."""

    status_code = "policy-rejected"


class PublicPolicyRefused(SecretShareError):
    """IAM Access Analyzer found that a resource policy would make the secret public."""

    status_code = "public-policy-refused"


class ConsumerAccountError(SecretShareError):
    """A consumer account could not be reached or written through its publisher role."""

    status_code = "consumer-unreachable"

    def __init__(self, account: str, role_arn: str, reason: str) -> None:
        super().__init__(f"consumer account {account}: {reason} (through {role_arn})")
        self.account = account
        self.role_arn = role_arn
        self.reason = reason


class ReconcileFailed(SecretShareError):
    """Some steps of a reconciliation failed; the others were applied. Carries the partial result."""

    status_code = "failed"

    def __init__(self, secret: str, failures: list[str], result: object) -> None:
        super().__init__(f"reconciling {secret} failed: " + "; ".join(failures))
        self.secret = secret
        self.failures = failures
        self.result = result
