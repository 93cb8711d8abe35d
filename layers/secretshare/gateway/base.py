"""What every service module of the gateway shares: the clients, their configuration, and the `calls` declarations.

Each AWS operation secretshare makes sits on a method that declares it (`calls`), with the role that makes it: account
A's reconcile role, or the publisher role of a consumer account. The template's roles are held against those
declarations (REQUIRED_ACTIONS), as Cloud Custodian's actions declare their permissions.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ..domain.errors import KeyPolicyBusy
from ..domain.settings import Settings
from .quotas import pace_calls

# Adaptive retry mode backs off on throttling and 5xx and, once throttled, paces further calls on the client
# (the sweep's parallel reads stay near the per-account quotas). `total_max_attempts` counts the first try (botocore's
# `max_attempts` counts retries only: botocore/args.py `_compute_retry_max_attempts`). Four attempts back off at most
# 1 + 2 + 4 s (botocore/retries/standard.py: rand * 2^(attempt-1)), so a call that keeps failing costs a
# reconciliation seconds, not its minute; a reconciliation that still fails is queued again (runtime.retries).
# A pool as large as the sweep's threads (botocore's default is 10): `make bench` saw 932 connections discarded
# with 16 threads on 10, each a new TLS handshake against AWS.
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 4}, max_pool_connections=32, user_agent_extra="secretshare"
)
# A consumer account that does not answer must not hold up the reconciliations queued behind (one FIFO message group):
# short timeouts there (SSM answers in well under a second), three attempts so that throttling (PutParameter's quota
# is per account) is still absorbed: at most 3 x (3 + 5) s + 1 + 2 s = 27 s, within retries.RESERVE_SECONDS. An
# account that failed is not tried again in the same invocation.
CONSUMER_CLIENT_CONFIG = CLIENT_CONFIG.merge(
    Config(connect_timeout=3, read_timeout=5, retries={"mode": "adaptive", "total_max_attempts": 3})
)
# The command line's first call tells an endpoint that answers from one that accepts connections and never does:
# two attempts of at most 3 s to connect and 5 s to answer, about 11 s when nothing answers (17 s at worst), where
# botocore's defaults wait 60 s for each of four attempts.
FIRST_CALL_CONFIG = CLIENT_CONFIG.merge(
    Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2})
)

# The roles that make secretshare's calls: account A's reconcile role (template.yaml ReconcileRole, which both
# functions run as), and the publisher role of each consumer account (consumer/template.yaml), assumed by it.
RECONCILE_ROLE = "reconcile"
PUBLISHER_ROLE = "publisher"
# The person running the command line, with their own credentials in account A (docs/operating.md lists what it needs).
OPERATOR_ROLE = "operator"

# The IAM action each AWS operation needs, by the role that makes it, so the template's roles can be held against the
# code. Filled in by the `calls` declarations: every AWS call secretshare makes is a method that declares it.
REQUIRED_ACTIONS: dict[str, dict[tuple[str, str], str]] = {RECONCILE_ROLE: {}, PUBLISHER_ROLE: {}, OPERATOR_ROLE: {}}
# IAM's service prefix where it differs from botocore's service name.
_IAM_PREFIX = {"resourcegroupstaggingapi": "tag", "accessanalyzer": "access-analyzer"}
# Operations authorized by an IAM action of another name.
_IAM_ACTION = {("sqs", "SendMessageBatch"): "sqs:SendMessage"}

_Method = TypeVar("_Method", bound=Callable[..., Any])


def calls(*operations: str, role: str = RECONCILE_ROLE) -> Callable[[_Method], _Method]:
    """Declare the AWS operations (`"kms:PutKeyPolicy"`, botocore's service name) a method makes, as `role`.

    Each one lands in REQUIRED_ACTIONS with the IAM action it needs: the declaration sits on the code that makes the
    call. An AWS error the method lets through carries that action (`failed_action`), so the failure can name the
    permission to check.
    """
    actions = {}
    for operation in operations:
        service, name = operation.split(":")
        default = f"{_IAM_PREFIX.get(service, service)}:{name}"
        actions[name] = REQUIRED_ACTIONS[role][(service, name)] = _IAM_ACTION.get((service, name), default)

    def declare(method: _Method) -> _Method:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except ClientError as err:
                err.failed_action = actions.get(err.operation_name, "")  # type: ignore[attr-defined]
                raise

        return call  # type: ignore[return-value]

    return declare


def failed_action(err: ClientError) -> str:
    """The IAM action of the call that failed (empty when it did not come through a declared method)."""
    return str(getattr(err, "failed_action", ""))


def error_code(err: ClientError) -> str:
    """The AWS error code of a failed call."""
    return str(err.response.get("Error", {}).get("Code", ""))


def default_session() -> boto3.Session:
    """boto3's default session, made on first use (not at import) and reused while a Lambda stays warm."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION


class Locks:
    """One lock per name, made on first use: what one invocation's threads must not do at once for the same thing."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def of(self, name: str) -> threading.Lock:
        """The lock for `name`."""
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())


# The longest a reconciliation waits for another one to finish with a key policy before it is queued again (a
# reconciliation holding the lock may itself be waiting on a consumer account that does not answer: 27 s at most).
KEY_LOCK_WAIT_SECONDS = 20


class KeyPolicyLocks(Locks):
    """The key policies the reconciliations of one invocation write, one reconciliation at a time per key.

    PutKeyPolicy replaces the whole policy and takes no condition on the policy it replaces (KMS API reference,
    PutKeyPolicy; botocore's kms model has no revision or ETag parameter), so two reconciliations that each read a
    shared key's policy and write it back at once lose one's update. A reconciliation holds the lock of every key
    whose policy it writes (`claim`); it need not read again under the locks when no write of those keys was counted
    since it read (`writes`, `written_since`): every write is counted (`wrote`), by the gateway, after KMS took it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._writes: Counter[str] = Counter()

    def writes(self) -> Counter[str]:
        """How often each key's policy has been written so far in this invocation."""
        with self._guard:
            return Counter(self._writes)

    def wrote(self, key_arn: str) -> None:
        """Count a write of a key's policy."""
        with self._guard:
            self._writes[key_arn] += 1

    def written_since(self, seen: Counter[str], key_arns: Iterable[str]) -> frozenset[str]:
        """The keys among these whose policy was written after `seen` was taken."""
        with self._guard:
            return frozenset(key for key in key_arns if self._writes[key] != seen[key])

    @contextmanager
    def claim(self) -> Iterator[KeyClaim]:
        """Locks a reconciliation holds on key policies while it runs, all released when it ends."""
        claim = KeyClaim(self)
        try:
            yield claim
        finally:
            claim.release()


class KeyClaim:
    """The key-policy locks one reconciliation holds. It takes more only after letting go of all it held, then takes
    them in one order (sorted), so no two reconciliations can each wait for a lock the other holds."""

    def __init__(self, locks: KeyPolicyLocks) -> None:
        self.locks = locks
        self.held: frozenset[str] = frozenset()

    def cover(self, key_arns: Iterable[str]) -> None:
        """Hold the locks of these keys too (at once when they are already held). Raises KeyPolicyBusy, holding none,
        when one stays taken for KEY_LOCK_WAIT_SECONDS."""
        wanted = self.held | frozenset(key_arns)
        if wanted == self.held:
            return
        self.release()
        for key in sorted(wanted):
            if not self.locks.of(key).acquire(timeout=KEY_LOCK_WAIT_SECONDS):
                self.release()
                raise KeyPolicyBusy(f"key {key}: its policy was being written by another reconciliation for too long")
            self.held |= {key}

    def release(self) -> None:
        """Let go of every lock held."""
        for key in self.held:
            self.locks.of(key).release()
        self.held = frozenset()


# A consumer account's assumed-role client is used until this long before its credentials expire (AssumeRole's
# default: one hour), then the role is assumed again: longer than any run that may hold the client (the sweep
# function's timeout, 900 s).
CREDENTIALS_MARGIN = timedelta(minutes=16)


@dataclass
class _Made:
    client: Any
    expires: datetime | None  # an assumed role's credentials expire; account A's own session renews its own


class SessionClients:
    """The clients made from one boto3 session, kept as long as the session lives.

    A warm Lambda keeps its default session from one invocation to the next, so each client is made once per
    container, not once per invocation: making one costs about 15 ms of CPU (botocore builds its class and copies the
    session's event handlers), and `make bench` counted 358 clients made for 100 tag changes, a third of the CPU, with
    an AssumeRole into each consumer account per batch.
    """

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self._made: dict[tuple[str, str, str], _Made] = {}
        # Clients are thread-safe once made; making them from one session is not.
        self._lock = threading.Lock()
        # The pool keys made from this session, by region: the tagging index may not show a key for minutes
        # (docs/aws-facts.md §11), and a warm container that forgot its own would open a pool key per batch meanwhile.
        self._pool_keys: dict[str, list[str]] = {}

    def made_pool_key(self, region: str, key_arn: str) -> None:
        """Remember a pool key made in `region`."""
        with self._lock:
            self._pool_keys.setdefault(region, []).append(key_arn)

    def pool_keys_made(self, region: str) -> tuple[str, ...]:
        """The pool keys made in `region` from this session so far."""
        with self._lock:
            return tuple(self._pool_keys.get(region, ()))

    def get(
        self,
        service: str,
        region: str | None,
        identity: str,
        expires: datetime | None,
        credentials: dict[str, str],
        config: Config | None = None,
    ) -> Any:
        config = config or _default_config(identity)
        cache_key = (service, region or "", identity, id(config))
        with self._lock:
            made = self._made.get(cache_key)
            if made is None or (credentials and not _usable(made)):
                client = self.session.client(service, region_name=region, config=config, **credentials)
                if not identity:
                    pace_calls(client)
                made = self._made[cache_key] = _Made(client, expires)
            return made.client

    def has(self, service: str, region: str | None, identity: str) -> bool:
        made = self._made.get((service, region or "", identity, id(_default_config(identity))))
        return made is not None and _usable(made)


_NEW_POOL_KEY_LOCK = "new pool key in "


def new_pool_key_lock(region: str) -> str:
    """The `KeyPolicyLocks` name a reconciliation that makes a pool key in `region` holds: a reconciliation that found
    no pool key with room, and waited while another made one, reads again and joins it instead of making another."""
    return _NEW_POOL_KEY_LOCK + region


def is_new_pool_key_lock(name: str) -> bool:
    """True for a `new_pool_key_lock` name (not a key's ARN)."""
    return name.startswith(_NEW_POOL_KEY_LOCK)


def _default_config(identity: str) -> Config:
    return CONSUMER_CLIENT_CONFIG if identity else CLIENT_CONFIG


def _usable(made: _Made) -> bool:
    return made.expires is None or made.expires - datetime.now(UTC) > CREDENTIALS_MARGIN


_session_clients: weakref.WeakKeyDictionary[boto3.Session, SessionClients] = weakref.WeakKeyDictionary()
_session_clients_lock = threading.Lock()


def clients_of(session: boto3.Session) -> SessionClients:
    """The clients made from `session` so far, in this process."""
    with _session_clients_lock:
        found = _session_clients.get(session)
        if found is None:
            found = _session_clients[session] = SessionClients(session)
        return found


@dataclass
class Clients:
    """boto3 clients for one Lambda invocation (a batch of reconciliations, run in parallel threads, or a sweep) or one
    CLI run: for account A, and for consumer accounts. The clients themselves are made once per session
    (`SessionClients`); what the invocation's threads share lives here: the accounts that failed, the role each is
    assuming, the key policies being written. All clients come from one boto3 session, so event hooks registered on it
    (call counters, fault injectors) see every call.
    """

    session: boto3.Session = field(default_factory=boto3.Session)
    # Consumer accounts that failed in this invocation, and why: not tried again until the next one.
    failed_accounts: dict[str, str] = field(default_factory=dict)
    # One per consumer account: its role is assumed once, while threads assume different accounts' roles at once
    # (one lock for all held 500 AssumeRoles in a row: `make bench`).
    assuming: Locks = field(default_factory=Locks)
    key_policies: KeyPolicyLocks = field(default_factory=KeyPolicyLocks)

    def get(
        self,
        service: str,
        region: str | None,
        identity: str = "",
        expires: datetime | None = None,
        config: Config | None = None,
        **credentials: str,
    ) -> Any:
        """The client for a service and region, as account A (`identity` "") or as an assumed role (`identity` its
        ARN, with the `credentials` AssumeRole gave and when they `expire`); `config` in place of the default."""
        return clients_of(self.session).get(service, region, identity, expires, credentials, config)

    def has(self, service: str, region: str | None, identity: str) -> bool:
        """True when that client was already made, and its credentials are good for a while yet."""
        return clients_of(self.session).has(service, region, identity)


class Service:
    """One AWS service as secretshare calls it in account A: each subclass's methods are its only calls there
    (Powertools' parameters utility has a provider per service over one base, likewise)."""

    # botocore's name of the service.
    name = ""

    def __init__(self, settings: Settings, clients: Clients) -> None:
        self.settings = settings
        self.clients = clients

    @property
    def session(self) -> boto3.Session:
        """The boto3 session of account A."""
        return self.clients.session

    def _client(self, region: str | None = None, config: Config | None = None) -> Any:
        """This service's client in account A, in `region` (default: the session's), with `config` in place of
        CLIENT_CONFIG."""
        return self.clients.get(self.name, region or self.session.region_name, config=config)
