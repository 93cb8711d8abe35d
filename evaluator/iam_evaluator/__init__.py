"""An independent IAM policy evaluator: who can *effectively* read a secret, not what JSON secretshare wrote.

The tests and the demo judge access with it; the library never imports it, and nothing of it ships to Lambda. The
evaluator is `@cloud-copilot/iam-simulate` (npm, AGPL-3.0), pinned in ``evaluator/iam_evaluator/node/package-lock.json``
and installed by ``make test`` and ``make demo`` (``npm ci``). One node process (``node/simulate.mjs``) answers one
JSON request per line; the tests' session-scoped fixture ``iam`` starts it on first use, once per pytest worker.

Two layers:

* :class:`Evaluator` and :meth:`Evaluator.decide` run one IAM request (principal, action, resource, identity
  policies, resource or key policy, context, optional SCPs/RCPs/permission boundary) exactly as given. Nothing
  is filled in: pass every context key AWS would set (``aws:PrincipalArn``, ``aws:PrincipalAccount``, ...).
* :func:`can_read_secret`, :func:`can_write_secret_version` and :func:`can_decrypt_directly` model how Secrets
  Manager authorizes a read, a new version and a direct KMS decrypt: both the Secrets Manager call and the KMS
  call Secrets Manager makes on the caller's behalf must be allowed.

How iam-simulate 0.1.173 treats KMS key policies (read in ``dist/esm/services/KmsServiceAuthorizer.js`` and
``DefaultServiceAuthorizer.js``; the self-tests in ``tests/access/test_evaluator_semantics.py`` pin it): it needs
no configuration. Every ``kms:*`` request on a ``key/...`` resource goes through its ``KmsServiceAuthorizer``, which
treats the key policy (passed as the request's resource policy) as authoritative:

* Same account: the caller's identity policy counts only if a key policy Allow statement matching the request names
  the account (``arn:aws:iam::<A>:root``, an ``AccountLevelMatch``): "trust Explicit". A statement naming the
  principal, or ``*`` restricted by conditions such as ``kms:CallerAccount``, allows without any identity policy.
  No account statement and no direct statement: denied whatever IAM says ("trust None"). A key with no policy at
  all is denied too.
* Cross account: the default rule, the key policy (naming the account or the principal) AND the caller's identity
  policy must both allow.
* Explicit Deny anywhere wins. Other services (Secrets Manager) use the default authorizer: same account, identity
  policy OR a resource policy statement naming the principal; cross account, both; a resource policy naming only
  the account root (``AllowedForAccount``) never suffices alone.

What iam-simulate gets wrong or cannot model, and what this harness does about it:

* **Encryption context keys are dropped** (bug in 0.1.173): ``runSimulation`` filters the request context against
  the action's documented keys and only understands ``prefix/${Var}`` templates, so
  ``kms:EncryptionContext:SecretARN`` (template ``kms:EncryptionContext:${EncryptionContextKey}``) is "ignored" and
  every condition on it behaves as if the key were absent. ``simulate.mjs`` then evaluates the already-validated
  request again with iam-simulate's own core ``authorize()`` (what ``runSimulation`` calls), keeping those keys;
  :attr:`Decision.engine` says ``"authorize"`` and :attr:`Decision.restored_context_keys` names them. The policy
  logic is still entirely iam-simulate's.
* Context is not derived from the request: ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``kms:CallerAccount``,
  ``kms:ViaService``, org keys, ... are whatever the caller passes. Context keys that do not apply to the action
  are dropped by iam-simulate; :meth:`Evaluator.decide` raises on them unless ``Request.strict_context`` is False,
  so a misspelt key cannot turn into a silent denial.
* Not modelled by iam-simulate: KMS grants, key state (disabled, pending deletion), whether a principal exists (KMS
  rejects a key policy naming a deleted role; iam-simulate matches ARNs as text, and a unique id ``AROA...`` matches
  nobody), the management account's exemption from SCPs, service-linked roles. Session policies and VPC endpoint
  policies exist in iam-simulate but are not exposed here.
* Validation: iam-simulate rejects malformed policies, unknown actions and resource ARNs that do not fit the
  action; :meth:`Evaluator.decide` raises :class:`EvaluatorInputError` with its messages instead of reporting a
  denial.
* The workaround imports four internal modules of the pinned iam-simulate; after an upgrade, run
  ``tests/access`` (``test_encryption_context_keys_need_the_authorize_workaround`` says when it is no longer needed).

What the Secrets Manager helpers assume (our model of the request, not iam-simulate's): the KMS step runs as the
caller (Secrets Manager uses forward access sessions), so it carries ``aws:ViaAWSService=true``, ``kms:ViaService``,
``kms:CallerAccount`` = the caller's account and the encryption context ``SecretARN``/``SecretVersionId``; both
steps carry ``aws:PrincipalArn`` (the role's ARN for an STS role session, without its path), ``aws:PrincipalAccount``,
``aws:ResourceAccount``, ``aws:RequestedRegion`` and the org keys when given. Not set: ``aws:CalledVia``,
``aws:SecureTransport``, ``aws:SourceIp``/``aws:SourceVpc*``, ``secretsmanager:VersionStage``/``VersionId``/
``SecretId`` (pass global ones in ``extra_context``, or build a :class:`Request`). Secrets Manager's own checks
(deleted secret, ``BlockPublicPolicy``, replicas, ``OwningService``) are outside the model.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

EVALUATOR_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = EVALUATOR_DIR / "simulate.mjs"
INSTALLED_PACKAGE = EVALUATOR_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate" / "package.json"
INSTALL_HINT = (
    "run `make test` (it runs npm ci), or `npm ci --prefix evaluator/iam_evaluator/node --no-audit --no-fund`"
)

PolicyDocument = Mapping[str, Any]
ContextValue = str | Sequence[str]
Result = Literal["Allowed", "ExplicitlyDenied", "ImplicitlyDenied"]

# The SecretVersionId Secrets Manager puts in the encryption context; any id will do for policy evaluation.
DEFAULT_SECRET_VERSION_ID = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"


class EvaluatorUnavailableError(RuntimeError):
    """node or the npm packages are missing, or the node process died."""


class EvaluatorInputError(ValueError):
    """iam-simulate refused the request (malformed policy, unknown action, resource of the wrong type, ...)."""


@dataclass(frozen=True)
class OrgPolicies:
    """The SCPs or RCPs attached at one level of an organization (root, OU or account), in iam-simulate's shape."""

    org_identifier: str
    policies: Sequence[PolicyDocument]


@dataclass(frozen=True)
class Request:
    """One IAM request, evaluated exactly as given (no context key is added)."""

    principal: str
    action: str
    resource: str
    resource_account: str
    identity_policies: Sequence[PolicyDocument] = ()
    resource_policy: PolicyDocument | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    scps: Sequence[OrgPolicies] = ()
    """Service control policies of the principal's account, root level first, account level last."""
    rcps: Sequence[OrgPolicies] = ()
    """Resource control policies of the resource's account (iam-simulate adds RCPFullAWSAccess to each level)."""
    permission_boundary: PolicyDocument | None = None
    strict_context: bool = True
    """Raise if iam-simulate drops a context key as not applicable to the action (a misspelt key, usually)."""

    def simulation(self) -> dict[str, Any]:
        """The request as an iam-simulate ``Simulation``."""
        simulation: dict[str, Any] = {
            "request": {
                "principal": self.principal,
                "action": self.action,
                "resource": {"resource": self.resource, "accountId": self.resource_account},
                "contextVariables": {
                    key: value if isinstance(value, str) else list(value) for key, value in self.context.items()
                },
            },
            "identityPolicies": [
                {"name": f"identity-{number}", "policy": policy}
                for number, policy in enumerate(self.identity_policies, start=1)
            ],
            "serviceControlPolicies": _org_policies(self.scps, "scp"),
            "resourceControlPolicies": _org_policies(self.rcps, "rcp"),
        }
        if self.resource_policy is not None:
            simulation["resourcePolicy"] = self.resource_policy
        if self.permission_boundary is not None:
            simulation["permissionBoundaryPolicies"] = [
                {"name": "permission-boundary", "policy": self.permission_boundary}
            ]
        return simulation

    @property
    def resource_policy_label(self) -> str:
        """What the resource policy is called in explanations."""
        return "key policy" if _is_kms_key(self.resource) else "resource policy"


@dataclass(frozen=True)
class Decision:
    """iam-simulate's answer to one :class:`Request`."""

    request: Request
    result: Result
    explanation: str
    analysis: Mapping[str, Any]
    """iam-simulate's analysis, summarised by simulate.mjs (per policy type: allow, deny and unmatched statements)."""
    engine: str
    restored_context_keys: tuple[str, ...] = ()
    ignored_context_keys: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether the request is allowed."""
        return self.result == "Allowed"

    def __bool__(self) -> bool:
        raise TypeError("test `decision.allowed` (and show `decision.explanation`), not the decision itself")


@dataclass(frozen=True)
class AccessResult:
    """The steps AWS authorizes for one operation (e.g. GetSecretValue, then kms:Decrypt), each a :class:`Decision`."""

    operation: str
    steps: tuple[Decision, ...]

    @property
    def allowed(self) -> bool:
        """Whether every step is allowed."""
        return all(step.allowed for step in self.steps)

    @property
    def denied_steps(self) -> tuple[Decision, ...]:
        """The steps that are not allowed."""
        return tuple(step for step in self.steps if not step.allowed)

    @property
    def explanation(self) -> str:
        """Every step's explanation, numbered."""
        verdict = "allowed" if self.allowed else "DENIED"
        parts = [f"{self.operation}: {verdict}"]
        parts += [f"step {number}: {step.explanation}" for number, step in enumerate(self.steps, start=1)]
        return "\n".join(parts)

    def __bool__(self) -> bool:
        raise TypeError("test `result.allowed` (and show `result.explanation`), not the result itself")


class Evaluator:
    """A long-lived node process running iam-simulate; thread-safe, one request at a time."""

    def __init__(self, *, node: str | None = None, timeout: float = 60.0) -> None:
        node_path = node or shutil.which("node")
        if node_path is None:
            raise EvaluatorUnavailableError(f"node is not on PATH; the IAM evaluator needs node >= 20 ({INSTALL_HINT})")
        if not INSTALLED_PACKAGE.is_file():
            raise EvaluatorUnavailableError(
                f"iam-simulate is not installed in {EVALUATOR_DIR}/node_modules: {INSTALL_HINT}"
            )
        self._timeout = timeout
        self._lock = threading.Lock()
        self._next_id = 0
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._process = subprocess.Popen(
            [node_path, str(SCRIPT)],
            cwd=EVALUATOR_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, name="iam-simulate-stdout", daemon=True)
        self._reader.start()
        try:
            self.version: str = str(self._call({"op": "version"})["version"])
        except BaseException:
            self.close()
            raise

    def _read_stdout(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        for line in stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _died(self, what: str) -> EvaluatorUnavailableError:
        self._stderr.seek(0)
        stderr = self._stderr.read().strip()
        return EvaluatorUnavailableError(f"the iam-simulate node process {what}; stderr:\n{stderr or '(empty)'}")

    def _call(self, message: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._process.poll() is not None:
                raise self._died(f"has exited with status {self._process.returncode}")
            self._next_id += 1
            message_id = self._next_id
            stdin = self._process.stdin
            assert stdin is not None
            try:
                stdin.write(json.dumps({"id": message_id, **message}) + "\n")
                stdin.flush()
            except BrokenPipeError as error:
                raise self._died("closed its input") from error
            try:
                line = self._lines.get(timeout=self._timeout)
            except queue.Empty:
                raise self._died(f"did not answer within {self._timeout} s") from None
            if line is None:
                raise self._died("exited without answering")
        answer = cast(dict[str, Any], json.loads(line))
        if answer.get("id") != message_id:
            raise EvaluatorUnavailableError(f"answer out of order: sent {message_id}, got {answer.get('id')}")
        if not answer.get("ok"):
            if answer.get("kind") == "validation":
                raise EvaluatorInputError(_validation_message(message, answer.get("errors")))
            raise EvaluatorUnavailableError(f"iam-simulate failed: {answer.get('message')}")
        return answer

    def decide(self, request: Request) -> Decision:
        """Evaluate one request; raise :class:`EvaluatorInputError` if iam-simulate refuses it."""
        answer = self._call({"op": "simulate", "simulation": request.simulation()})
        ignored = tuple(answer.get("ignoredContextKeys", ()))
        if ignored and request.strict_context:
            raise EvaluatorInputError(
                f"iam-simulate ignores context keys {list(ignored)} for {request.action} on {request.resource} "
                "(not applicable to the action, or misspelt); fix them or set strict_context=False"
            )
        restored = tuple(answer.get("restoredContextKeys", ()))
        result = cast(Result, answer["overallResult"])
        analysis = cast(Mapping[str, Any], answer["analysis"])
        explanation = _explain(request, result, analysis, answer, ignored, restored)
        return Decision(
            request=request,
            result=result,
            explanation=explanation,
            analysis=analysis,
            engine=str(answer["engine"]),
            restored_context_keys=restored,
            ignored_context_keys=ignored,
        )

    def close(self) -> None:
        """Stop the node process."""
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._reader.join(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- Secrets Manager's authorization, modelled on iam-simulate requests -----------------------------------------------


def can_read_secret(
    evaluator: Evaluator,
    *,
    caller_arn: str,
    secret_arn: str,
    kms_key_arn: str,
    key_policy: PolicyDocument | None,
    secret_policy: PolicyDocument | None = None,
    identity_policies: Sequence[PolicyDocument] = (),
    caller_account: str | None = None,
    region: str | None = None,
    org_id: str | None = None,
    org_paths: Sequence[str] | None = None,
    scps: Sequence[OrgPolicies] = (),
    rcps: Sequence[OrgPolicies] = (),
    version_id: str = DEFAULT_SECRET_VERSION_ID,
    extra_context: Mapping[str, ContextValue] | None = None,
) -> AccessResult:
    """Can ``caller_arn`` read the secret's value through Secrets Manager (``GetSecretValue``)?

    Both must be allowed: ``secretsmanager:GetSecretValue`` on the secret (identity policies and ``secret_policy``),
    and the ``kms:Decrypt`` Secrets Manager makes on the caller's behalf on ``kms_key_arn`` (identity policies and
    ``key_policy``), with ``kms:ViaService=secretsmanager.<region>.amazonaws.com``, ``kms:CallerAccount``, the
    encryption context ``SecretARN``/``SecretVersionId`` and ``aws:ViaAWSService=true``.

    ``caller_account`` and ``region`` default to those in ``caller_arn`` and ``secret_arn``; ``org_id`` and
    ``org_paths`` set ``aws:PrincipalOrgID`` and ``aws:PrincipalOrgPaths``; ``extra_context`` (global keys) is added
    to both steps.
    """
    return _through_secrets_manager(
        evaluator,
        operation="read the secret through Secrets Manager",
        secret_action="secretsmanager:GetSecretValue",
        kms_action="kms:Decrypt",
        **_common(locals()),
    )


def can_write_secret_version(
    evaluator: Evaluator,
    *,
    caller_arn: str,
    secret_arn: str,
    kms_key_arn: str,
    key_policy: PolicyDocument | None,
    secret_policy: PolicyDocument | None = None,
    identity_policies: Sequence[PolicyDocument] = (),
    caller_account: str | None = None,
    region: str | None = None,
    org_id: str | None = None,
    org_paths: Sequence[str] | None = None,
    scps: Sequence[OrgPolicies] = (),
    rcps: Sequence[OrgPolicies] = (),
    version_id: str = DEFAULT_SECRET_VERSION_ID,
    extra_context: Mapping[str, ContextValue] | None = None,
) -> AccessResult:
    """Can ``caller_arn`` write a new secret version (``PutSecretValue``, as rotation does)?

    Both must be allowed: ``secretsmanager:PutSecretValue`` on the secret and the ``kms:GenerateDataKey`` Secrets
    Manager makes on the caller's behalf, with the same context as :func:`can_read_secret`.
    """
    return _through_secrets_manager(
        evaluator,
        operation="write a new secret version through Secrets Manager",
        secret_action="secretsmanager:PutSecretValue",
        kms_action="kms:GenerateDataKey",
        **_common(locals()),
    )


def can_decrypt_directly(
    evaluator: Evaluator,
    *,
    caller_arn: str,
    secret_arn: str,
    kms_key_arn: str,
    key_policy: PolicyDocument | None,
    identity_policies: Sequence[PolicyDocument] = (),
    caller_account: str | None = None,
    org_id: str | None = None,
    org_paths: Sequence[str] | None = None,
    scps: Sequence[OrgPolicies] = (),
    rcps: Sequence[OrgPolicies] = (),
    version_id: str = DEFAULT_SECRET_VERSION_ID,
    extra_context: Mapping[str, ContextValue] | None = None,
) -> AccessResult:
    """Can ``caller_arn`` call ``kms:Decrypt`` on the key itself, with the secret's encryption context?

    No ``kms:ViaService`` (the caller talks to KMS), ``aws:ViaAWSService=false``; otherwise as :func:`can_read_secret`.
    """
    caller_account = caller_account or _arn_account(caller_arn)
    context = {
        **_principal_context(caller_arn, caller_account, org_id, org_paths),
        **_kms_context(caller_account, secret_arn, version_id),
        "aws:ResourceAccount": _arn_account(kms_key_arn),
        "aws:RequestedRegion": _arn_region(kms_key_arn),
        "aws:ViaAWSService": "false",
        **(extra_context or {}),
    }
    decision = evaluator.decide(
        Request(
            principal=caller_arn,
            action="kms:Decrypt",
            resource=kms_key_arn,
            resource_account=_arn_account(kms_key_arn),
            identity_policies=identity_policies,
            resource_policy=key_policy,
            context=context,
            scps=scps,
            rcps=rcps,
        )
    )
    return AccessResult(operation="decrypt directly with KMS (no Secrets Manager)", steps=(decision,))


def _common(arguments: Mapping[str, Any]) -> dict[str, Any]:
    names = [
        "caller_arn",
        "secret_arn",
        "kms_key_arn",
        "key_policy",
        "secret_policy",
        "identity_policies",
        "caller_account",
        "region",
        "org_id",
        "org_paths",
        "scps",
        "rcps",
        "version_id",
        "extra_context",
    ]
    return {name: arguments[name] for name in names}


def _through_secrets_manager(
    evaluator: Evaluator,
    *,
    operation: str,
    secret_action: str,
    kms_action: str,
    caller_arn: str,
    secret_arn: str,
    kms_key_arn: str,
    key_policy: PolicyDocument | None,
    secret_policy: PolicyDocument | None,
    identity_policies: Sequence[PolicyDocument],
    caller_account: str | None,
    region: str | None,
    org_id: str | None,
    org_paths: Sequence[str] | None,
    scps: Sequence[OrgPolicies],
    rcps: Sequence[OrgPolicies],
    version_id: str,
    extra_context: Mapping[str, ContextValue] | None,
) -> AccessResult:
    caller_account = caller_account or _arn_account(caller_arn)
    region = region or _arn_region(secret_arn)
    principal_context = _principal_context(caller_arn, caller_account, org_id, org_paths)
    secret_account = _arn_account(secret_arn)
    secret_step = evaluator.decide(
        Request(
            principal=caller_arn,
            action=secret_action,
            resource=secret_arn,
            resource_account=secret_account,
            identity_policies=identity_policies,
            resource_policy=secret_policy,
            context={
                **principal_context,
                "aws:ResourceAccount": secret_account,
                "aws:RequestedRegion": region,
                "aws:ViaAWSService": "false",
                **(extra_context or {}),
            },
            scps=scps,
            rcps=rcps,
        )
    )
    key_account = _arn_account(kms_key_arn)
    kms_step = evaluator.decide(
        Request(
            principal=caller_arn,
            action=kms_action,
            resource=kms_key_arn,
            resource_account=key_account,
            identity_policies=identity_policies,
            resource_policy=key_policy,
            context={
                **principal_context,
                **_kms_context(caller_account, secret_arn, version_id),
                "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                "aws:ResourceAccount": key_account,
                "aws:RequestedRegion": region,
                "aws:ViaAWSService": "true",
                **(extra_context or {}),
            },
            scps=scps,
            rcps=rcps,
        )
    )
    return AccessResult(operation=operation, steps=(secret_step, kms_step))


def _principal_context(
    caller_arn: str, caller_account: str, org_id: str | None, org_paths: Sequence[str] | None
) -> dict[str, ContextValue]:
    context: dict[str, ContextValue] = {
        "aws:PrincipalArn": principal_arn_for_context(caller_arn),
        "aws:PrincipalAccount": caller_account,
    }
    if org_id is not None:
        context["aws:PrincipalOrgID"] = org_id
    if org_paths is not None:
        context["aws:PrincipalOrgPaths"] = list(org_paths)
    return context


def _kms_context(caller_account: str, secret_arn: str, version_id: str) -> dict[str, ContextValue]:
    return {
        "kms:CallerAccount": caller_account,
        "kms:EncryptionContext:SecretARN": secret_arn,
        "kms:EncryptionContext:SecretVersionId": version_id,
    }


def principal_arn_for_context(caller_arn: str) -> str:
    """``aws:PrincipalArn`` for a caller: the role ARN for an STS role session (its path is not in the session ARN)."""
    parts = caller_arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role_name = parts[5].split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role_name}"
    return caller_arn


def _arn_parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts


def _arn_account(arn: str) -> str:
    account = _arn_parts(arn)[4]
    if not account:
        raise ValueError(f"ARN has no account: {arn!r}")
    return account


def _arn_region(arn: str) -> str:
    region = _arn_parts(arn)[3]
    if not region:
        raise ValueError(f"ARN has no region: {arn!r}")
    return region


def _is_kms_key(arn: str) -> bool:
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "kms" and parts[5].startswith("key/")


# --- Documented policies ----------------------------------------------------------------------------------------------


def aws_managed_secretsmanager_key_policy(account: str, region: str) -> dict[str, Any]:
    """The key policy of the AWS managed key ``aws/secretsmanager`` of ``account`` in ``region``, as AWS documents it.

    Every principal of the account may use the key through Secrets Manager (``kms:CallerAccount`` and
    ``kms:ViaService``); the account may read the key's metadata directly. The two Sids are the same in AWS's policy.
    """
    via_secrets_manager = (
        "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS "
        "Secrets Manager"
    )
    return {
        "Version": "2012-10-17",
        "Id": "auto-secretsmanager-2",
        "Statement": [
            {
                "Sid": via_secrets_manager,
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account,
                        "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                    }
                },
            },
            {
                "Sid": via_secrets_manager,
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account},
                    "StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"},
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    }


def default_key_policy(account: str) -> dict[str, Any]:
    """The default key policy KMS gives a key created without one: the account root may do ``kms:*``.

    It delegates the key to the account's IAM: nobody may use the key until an identity policy allows it.
    """
    return {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


# --- Messages ---------------------------------------------------------------------------------------------------------


def _org_policies(levels: Sequence[OrgPolicies], kind: str) -> list[dict[str, Any]]:
    return [
        {
            "orgIdentifier": level.org_identifier,
            "policies": [
                {"name": f"{kind}-{level.org_identifier}-{number}", "policy": policy}
                for number, policy in enumerate(level.policies, start=1)
            ],
        }
        for level in levels
    ]


def _validation_message(message: Mapping[str, Any], errors: object) -> str:
    simulation = message.get("simulation") or {}
    request = simulation.get("request") or {}
    resource = (request.get("resource") or {}).get("resource")
    return (
        f"iam-simulate refused {request.get('action')} on {resource} by {request.get('principal')}: "
        f"{json.dumps(errors, indent=1, sort_keys=True)}"
    )


def _explain(
    request: Request,
    result: str,
    analysis: Mapping[str, Any],
    answer: Mapping[str, Any],
    ignored: Sequence[str],
    restored: Sequence[str],
) -> str:
    scope = "same account" if analysis.get("sameAccount") else "cross-account"
    lines = [
        f"{request.action} by {request.principal} on {request.resource} "
        f"(resource account {request.resource_account}, {scope}): {result}"
    ]
    labels = {
        "identity": "identity policies",
        "resource": request.resource_policy_label,
        "pb": "permission boundary",
        "scp": "SCPs",
        "rcp": "RCPs",
        "vpce": "VPC endpoint policy",
        "s3-bpa": "S3 Block Public Access",
    }
    if analysis.get("blockedBy"):
        blockers = ", ".join(labels.get(reason, reason) for reason in analysis["blockedBy"])
        lines.append(f"  allowed by the core policies but blocked by: {blockers}")
    if result != "Allowed":
        lines.append(f"  denied by: {_denials(answer.get('denials') or [], labels)}")
    sections = [
        ("identity policies", analysis.get("identity")),
        ("permission boundary", analysis.get("permissionBoundary")),
    ]
    if request.resource_policy is None:
        lines.append(f"  no {request.resource_policy_label}")
    else:
        sections.insert(1, (request.resource_policy_label, analysis.get("resource")))
    for label, section in sections:
        if section is not None:
            lines += _explain_section(label, section)
    for label, control in (("SCPs", analysis.get("scp")), ("RCPs", analysis.get("rcp"))):
        if control is not None:
            lines.append(f"  {label}: {control['result']}")
            for level in control["levels"]:
                lines += _explain_section(level["orgIdentifier"], level, indent="    ")
    lines.append(f"  context: {json.dumps(dict(request.context), sort_keys=True)}")
    engine = f"iam-simulate {answer.get('version')} via {answer.get('engine')}"
    if restored:
        engine += f" (runSimulation drops {list(restored)}; evaluated with iam-simulate's authorize() keeping them)"
    if ignored:
        engine += f"; context keys ignored as not applicable: {list(ignored)}"
    lines.append(f"  {engine}")
    return "\n".join(lines)


def _denials(denials: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> str:
    described = []
    for denial in denials:
        label = labels.get(str(denial.get("policyType")), str(denial.get("policyType")))
        if denial.get("denialType") == "Explicit":
            where = f" {denial['policyIdentifier']}" if denial.get("policyIdentifier") else ""
            sid = f" Sid {denial['statementId']!r}" if denial.get("statementId") else ""
            described.append(f"explicit Deny in {label}{where} #{denial.get('statementIndex')}{sid}")
        else:
            where = f" {denial['identifier']}" if denial.get("identifier") else ""
            described.append(f"no applicable Allow in {label}{where}")
    return "; ".join(described) or "(iam-simulate gave no reason)"


def _explain_section(label: str, section: Mapping[str, Any], indent: str = "  ") -> list[str]:
    lines = [f"{indent}{label}: {section['result']}"]
    for kind in ("deny", "allow", "unmatched"):
        for statement in section[kind]:
            lines.append(f"{indent}  {kind:9} {_describe_statement(statement)}")
    if not any(section[kind] for kind in ("deny", "allow", "unmatched")):
        lines.append(f"{indent}  (no statements)")
    return lines


def _describe_statement(statement: Mapping[str, Any]) -> str:
    name = statement.get("policy")
    where = f"{name} " if name else ""
    where += f"#{statement.get('index')}"
    if statement.get("sid"):
        where += f" Sid {statement['sid']!r}"
    where += f" ({statement['effect']})"
    if statement["matches"]:
        facts = ["matches"]
        if statement["principalMatch"] not in ("Match", "NoMatch"):
            facts.append(f"principal {statement['principalMatch']}")
        return f"{where}: {', '.join(facts)}"
    misses = []
    if not statement["actionMatch"]:
        misses.append("action")
    if not statement["resourceMatch"]:
        misses.append("resource")
    if statement["principalMatch"] == "NoMatch":
        misses.append("principal")
    for condition in statement["conditions"]:
        if not condition["matches"]:
            missing = " (key missing)" if condition.get("failedBecauseMissing") else ""
            misses.append(f"condition {condition['operator']} {condition['key']} {condition['values']}{missing}")
    principal = statement["principalMatch"]
    note = f" (principal {principal})" if principal not in ("Match", "NoMatch") else ""
    return f"{where}: no match on {'; '.join(misses) or 'nothing reported'}{note}"
