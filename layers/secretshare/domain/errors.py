"""Error types. Each message names the offending value and says what to do about it."""

from __future__ import annotations

from collections.abc import Mapping


class SecretShareError(Exception):
    """Base class for every error secretshare raises on purpose."""

    # The word the `share-with-status` tag shows when a reconciliation fails this way.
    status_code = "failed"


class KeyPolicyBusy(TimeoutError):
    """Another reconciliation of the invocation held a key policy this one must write for too long. Nothing is wrong
    with the secret, and nothing was written: trying again soon (queued behind the others) does it."""


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


class DeletedPrincipalInKeyPolicy(SecretShareError):
    """A statement secretshare did not write names a deleted principal, which KMS refuses in every write of the key
    policy: the key cannot be changed until a person removes it. Everything else of the reconciliation is done."""

    status_code = "deleted-principal-in-key-policy"

    def __init__(self, secret: str, problems: list[str]) -> None:
        super().__init__(f"secret {secret}: " + "; ".join(problems))
        self.problems = problems


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
    """Some steps of a reconciliation failed; the others were applied. Carries the partial result.

    `failed_accounts` maps each consumer account that failed to why; `failures` are those reasons, in that order.
    """

    status_code = "failed"

    def __init__(self, secret: str, failed_accounts: Mapping[str, str], result: object) -> None:
        self.failures = list(failed_accounts.values())
        super().__init__(f"reconciling {secret} failed: " + "; ".join(self.failures))
        self.secret = secret
        self.failed_accounts = dict(failed_accounts)
        self.result = result


class ManagedSecretNotShareable(SecretShareError):
    """The secret belongs to another AWS service (`OwningService`) and cannot be moved to a key other accounts can use.

    Secrets Manager refuses changes to a managed secret that its service makes itself (InvalidRequestException,
    docs/aws-facts.md §2), and RDS, for one, never lets the key of its secret be changed: secretshare never tries.
    """

    def __init__(self, secret: str, service: str, reason: str) -> None:
        super().__init__(
            f"secret {secret} is managed by {service} and {reason}; secretshare never changes the key of a secret "
            f"another service manages. Have {service} make it with a customer-managed key (RDS: turn "
            "ManageMasterUserPassword off and on again with MasterUserSecretKmsKeyId, which makes a new secret), "
            "then tag that secret"
        )
        self.status_code = f"managed-by-{service}"


class AwsCallFailed(SecretShareError):
    """A call in account A failed: AWS refused it (AccessDenied, a refused change, a key it cannot use) or did not
    answer. The message names the secret, the call, AWS's reason and what to do; `transient` says whether trying
    again soon may work (throttling, a server error, no answer) or a person must act first. `made_keys` are the keys
    the reconciliation created before it failed: its retry adopts them instead of making others."""

    def __init__(
        self, secret: str, action: str, code: str, reason: str, *, transient: bool, made_keys: tuple[str, ...] = ()
    ) -> None:
        call = action or "a call"
        super().__init__(f"secret {secret}: {call} failed: {code}: {reason}; fix: {_fix(code, action, transient)}")
        self.action = action
        self.code = code
        self.transient = transient
        self.made_keys = made_keys
        self.status_code = " ".join(part for part in (code, action) if part)


def _fix(code: str, action: str, transient: bool) -> str:
    if transient:
        return "none needed if it passes on retry (AWS throttled the call, failed on its side, or did not answer)"
    if "AccessDenied" in code or code in ("UnauthorizedOperation", "AuthorizationError"):
        where = " and the key policy lets account A's IAM use the key" if action.startswith("kms:") else ""
        return f"make sure the reconcile role may call {action or 'it'}{where} (an SCP or boundary may deny it)"
    if code in ("DisabledException", "KMSInvalidStateException", "KeyUnavailableException"):
        return "enable the key, or point the secret at a key that is enabled"
    if code == "InvalidRequestException":
        return (
            "Secrets Manager refused the change: the secret may be managed by another service or scheduled for deletion"
        )
    return "see AWS's reason above"
