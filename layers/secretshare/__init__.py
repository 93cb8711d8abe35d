"""secretshare: share AWS Secrets Manager secrets across accounts with one tag.

A reconciliation reads (`read`), plans (`plan`, pure: no AWS dependency, like `sharetag`, `policy`, `names` and
`arns`), and applies (`apply`); `reconcile` is the loop around them and `aws` the one layer of AWS calls.
"""

from .errors import (
    AllowListUnavailable,
    ConfigurationError,
    ConsumerAccountError,
    KeyNotUsable,
    PolicyTooLarge,
    ReconcileFailed,
    SecretShareError,
)
from .reconcile import ReconcileResult, reconcile_secret
from .settings import Settings

__all__ = [
    "AllowListUnavailable",
    "ConfigurationError",
    "ConsumerAccountError",
    "KeyNotUsable",
    "PolicyTooLarge",
    "ReconcileFailed",
    "ReconcileResult",
    "SecretShareError",
    "Settings",
    "reconcile_secret",
]
