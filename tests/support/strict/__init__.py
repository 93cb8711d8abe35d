"""A test world as strict as AWS where it matters to secretshare: every test runs in it unless it says why not.

moto stores what it is given and answers at once; AWS authorizes every call, checks what a key policy names, and
catches up with itself over seconds. `StrictAws` stands in front of moto (it wraps moto's `before-send` stubber, so
every request of every session passes through it, after any fault a test injects with `support.faults`) and enforces:

- **IAM for our own roles** (`authorization.py`): a request made with the credentials of the reconcile role (the
  library's session in the tests, and the handlers', as Lambda gives the functions their role's credentials) or of a
  consumer account's publisher role (assumed by the reconcile role) is authorized against that role's policies as
  template.yaml and consumer/template.yaml define them, with the request context AWS builds. A refusal is AWS's
  AccessDenied, on the wire as each service sends it. Any other credentials are a person's (an administrator): not
  authorized here.
- **KMS's principal checks** (`principals.py`): CreateKey and PutKeyPolicy refuse a policy naming a principal the
  test world says does not exist, or a unique id (`AROA...`), which is how AWS shows a deleted principal
  (MalformedPolicyDocumentException); deleting a principal rewrites every stored policy naming it to its unique id.
  A policy that would lock the caller out is refused too (the lockout safety check).
- **Eventual consistency** (`consistency.py`): the tagging API (GetResources) shows tags as they were until time
  passes; KMS answers NotFoundException once about a key it just created; EventBridge Scheduler refuses an `at()`
  already past.
- **Limits and shapes** (`limits.py`): key policies (32 KB), secret resource policies (20,480 characters), SSM
  parameter names, tag values.

Time passes when the test world acts as a person (any request with other credentials than our roles'), or when a
test says so (`time_passes`): reconciliations run back to back with nothing in between see AWS mid-propagation.

What it cannot do is listed in docs/testing.md ("What the strict layer enforces").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import BotocoreStubber

from iam_evaluator import Evaluator
from secretshare.domain.errors import ConfigurationError
from secretshare.domain.settings import Settings

from . import consistency, limits
from .authorization import PRODUCER, Authorizer, Role, Steps, publisher_role, reconcile_role
from .principals import IamWorld
from .requests import Answer, AwsRequest, error, read_request, response

__all__ = ["StrictAws", "settings_from_environment"]

_ACCESS_KEY = re.compile(r"<AccessKeyId>([^<]+)</AccessKeyId>")
_ACCESS_DENIED = {
    "sts": ("AccessDenied", 403),
    "cloudformation": ("AccessDenied", 403),
    "sqs": ("AccessDenied", 403),
    "scheduler": ("AccessDeniedException", 403),
}


def settings_from_environment() -> Settings:
    """The settings the functions read: what the stack passes them (template.yaml's Environment)."""
    try:
        return Settings.from_env()
    except ConfigurationError:
        return Settings()


class StrictAws:
    """The strict layer of one test (see the module's docstring); `StrictAws.active` is the one installed now."""

    active: StrictAws | None = None

    def __init__(self, evaluator: Callable[[], Evaluator]) -> None:
        self.authorizer = Authorizer(evaluator)
        self.iam = IamWorld()
        self.index = consistency.TaggingIndex()
        self.new_keys = consistency.NewKeys()
        # The settings the product runs with, from which the deployed roles are read.
        self.product_settings: Callable[[], Settings] = settings_from_environment
        self._roles: dict[str, str] = {}  # access key id -> the role ARN it acts as (learnt from AssumeRole)
        self._lock = threading.RLock()

    # --- what a test declares -------------------------------------------------------------------------------------

    def act_as_reconcile_role(self, access_key: str) -> None:
        """Credentials that act as the reconcile role (the library's, the handlers')."""
        self._roles[access_key] = reconcile_role(self.product_settings()).arn

    def time_passes(self) -> None:
        """AWS catches up with itself: the tagging index shows every tag, every new key is visible."""
        with self._lock:
            self.index.catch_up()
            self.new_keys.settle()

    # --- the layer ----------------------------------------------------------------------------------------------

    @contextmanager
    def installed(self) -> Iterator[StrictAws]:
        """Stand in front of moto for every session, for the life of the context."""
        original = BotocoreStubber.__call__
        strict = self

        def call(stubber: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any) -> Any:
            if not stubber.enabled:
                return None
            return strict.send(read_request(event_name, request), lambda: stubber.process_request(request))

        BotocoreStubber.__call__ = call  # type: ignore[method-assign]
        StrictAws.active = self
        try:
            yield self
        finally:
            StrictAws.active = None
            BotocoreStubber.__call__ = original  # type: ignore[method-assign]

    def send(self, request: AwsRequest, forward: Callable[[], Answer | None]) -> AWSResponse | None:
        """Refuse the request as AWS would, or pass it to moto and make its answer what AWS would answer."""
        with self._lock:
            role = self._role(request)
            if role is None:
                self.time_passes()  # a person acts
            refusal = self._refusal(request, role)
            if refusal is not None:
                return refusal
            before = consistency.tags_before(request)
        answer = forward()
        if answer is None:
            return None
        with self._lock:
            self._learn(request, answer)
            answer = self.index.observe(request, answer, before)
            self.new_keys.observe(request, answer)
        return response(request, answer)

    def _role(self, request: AwsRequest) -> Role | None:
        arn = self._roles.get(request.access_key)
        if arn is None:
            return None
        settings = self.product_settings()
        account = arn.split(":")[4]
        return reconcile_role(settings) if account == PRODUCER else publisher_role(settings, account)

    def _refusal(self, request: AwsRequest, role: Role | None) -> AWSResponse | None:
        if role is not None:
            denied = self._denied(request, role)
            if denied is not None:
                return denied
            new_key = self.new_keys.refusal(request)
            if new_key is not None:
                return error(request, 400, "NotFoundException", f"Key '{new_key}' does not exist")
        for check in (self.iam.refusal, limits.refusal, consistency.scheduler_refusal):
            found = check(request)
            if found is not None:
                status, code, message = found
                return error(request, status, code, message)
        if role is not None:
            locked_out = self._locks_out(request, role)
            if locked_out is not None:
                return locked_out
        return None

    def _denied(self, request: AwsRequest, role: Role) -> AWSResponse | None:
        for step in Steps(request, role.account, self._trust_policy):
            message = self.authorizer.refusal(role, step)
            if message is not None:
                code, status = _ACCESS_DENIED.get(request.service, ("AccessDeniedException", 400))
                return error(request, status, code, message)
        return None

    def _trust_policy(self, role_arn: str) -> Any:
        """Every consumer account deployed consumer/template.yaml: its publisher role, and no other role, exists."""
        account = role_arn.split(":")[4]
        role = publisher_role(self.product_settings(), account)
        return role.trust if role.arn == role_arn else None

    def _locks_out(self, request: AwsRequest, role: Role) -> AWSResponse | None:
        """KMS's lockout safety check: the new key policy must let the caller change it later (botocore's CreateKey
        and PutKeyPolicy documentation, `BypassPolicyLockoutSafetyCheck`)."""
        step = limits.lockout_step(request, role.account)
        if step is None or self.authorizer.refusal(role, step) is None:
            return None
        message = "The new key policy will not allow you to update the key policy in the future."
        return error(request, 400, "MalformedPolicyDocumentException", message)

    def _learn(self, request: AwsRequest, answer: Answer) -> None:
        """Whose credentials AssumeRole hands out: a role the reconcile role assumes acts as that role."""
        if request.operation != "AssumeRole" or answer[0] >= 300:
            return
        body = answer[2].decode() if isinstance(answer[2], bytes) else answer[2]
        found = _ACCESS_KEY.search(body)
        if found and request.access_key in self._roles:
            self._roles[found.group(1)] = request.parameters["RoleArn"]
