"""secretshare: share AWS Secrets Manager secrets across accounts with one tag.

Four layers, each a folder that imports only the ones before it:
- `domain`: the pure core (tag grammar, consumers, policy and key-policy statements, names, status, settings,
  errors, events); no AWS SDK;
- `gateway`: every AWS call, one module per service;
- `reconciler`: a reconciliation reads (`read`), plans (`plan`, pure) and applies (`apply`); `reconcile` is the
  loop around them, `sweep` finds what needs one;
- `runtime`: the Lambda glue (retries, observability).
The command line and the demo are the package `secretshare_cli`, which the Lambda layer does not ship.
"""

from .domain.errors import (
    AllowListUnavailable,
    ConfigurationError,
    ConsumerAccountError,
    KeyNotUsable,
    PolicyTooLarge,
    ReconcileFailed,
    SecretShareError,
)
from .domain.settings import Settings
from .reconciler.reconcile import ReconcileResult, reconcile_secret

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
