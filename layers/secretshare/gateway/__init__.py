"""The gateway to AWS: every call secretshare makes, one module per service over a shared base (`base`).

`Aws` gathers the services for one reconciliation or one sweep. Nothing here decides anything: reads gather what the
reconciler plans from, writes carry out one change of a plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import boto3

from ..domain.settings import Settings
from .accessanalyzer import AccessAnalyzer
from .base import REQUIRED_ACTIONS, Clients, KeyClaim, default_session, error_code, failed_action
from .cloudformation import CloudFormation
from .consumer_accounts import ConsumerAccounts
from .kms import Kms
from .organizations import Organizations
from .scheduler import Scheduler
from .secretsmanager import SecretsManager
from .sqs import Queues
from .sts import Sts
from .tagging import Tagging

__all__ = ["REQUIRED_ACTIONS", "Aws", "Clients", "KeyClaim", "default_session", "error_code", "failed_action"]


@dataclass
class Aws:
    """Every AWS service secretshare calls, for one reconciliation or one sweep (the key caches live as long).
    `made_keys` collects the keys created through it, in order."""

    settings: Settings
    clients: Clients = field(default_factory=Clients)
    made_keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.secrets = SecretsManager(self.settings, self.clients)
        self.kms = Kms(self.settings, self.clients, self.made_keys)
        self.tagging = Tagging(self.settings, self.clients)
        self.organizations = Organizations(self.settings, self.clients)
        self.access_analyzer = AccessAnalyzer(self.settings, self.clients)
        self.scheduler = Scheduler(self.settings, self.clients)
        self.queues = Queues(self.settings, self.clients)
        self.sts = Sts(self.settings, self.clients)
        self.stacks = CloudFormation(self.settings, self.clients)
        self.consumers = ConsumerAccounts(self.settings, self.clients)

    @property
    def session(self) -> boto3.Session:
        """The boto3 session of account A."""
        return self.clients.session

    @property
    def region(self) -> str:
        """The region the session works in: the stack's (Lambda's AWS_REGION), or the command line's."""
        return self.session.region_name or ""
