"""secretshare: share AWS Secrets Manager secrets across accounts with one tag.

The pure core (`sharetag`, `policy`, `plan`, `names`, `arns`) has no AWS dependency; `aws` is the
thin layer of AWS calls and `reconcile` ties them together.
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
