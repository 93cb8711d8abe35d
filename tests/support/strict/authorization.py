"""IAM for secretshare's own roles: each request made with a role's credentials is authorized as AWS authorizes it.

The roles are read from the templates a user deploys: template.yaml's ReconcileRole (both functions run as it) and
consumer/template.yaml's PublisherRole (in every consumer account, assumed by the reconcile role). Their parameters are
what the product runs with (its settings): the stack passes each one to the functions (template.yaml's Environment,
held to this by tests/sam/test_template_contracts.py).

Each operation becomes the steps AWS authorizes, with the request context AWS builds (docs/aws-facts.md §17 and the
sources cited there): the resource ARN (the key and the alias for CreateAlias), the resource's own policy where it has
one (a key policy, a secret's resource policy, a role's trust policy), `aws:RequestTag/*` and `aws:TagKeys` for
tagging, the tag-on-create check of CreateKey, the KMS calls Secrets Manager makes on the caller's behalf when a
secret moves to another key (`kms:ViaService`), and `iam:PassRole` with `iam:PassedToService` for a schedule's role.
The independent evaluator (iam-simulate) decides each step; each distinct step is decided once per worker.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from moto.kms.models import kms_backends
from moto.organizations.models import organizations_backends
from moto.secretsmanager.exceptions import SecretNotFoundException
from moto.secretsmanager.models import secretsmanager_backends

from iam_evaluator import Evaluator, Request
from secretshare.domain.settings import Settings
from support.sam import CONSUMER_TEMPLATE, RECONCILE_ROLE_ARN, TEMPLATE, load_template, resolve

from .requests import AwsRequest, Parameters

PRODUCER = RECONCILE_ROLE_ARN.split(":")[4]
# What KMS answers for a key it is asked about on the caller's behalf, and Secrets Manager says when KMS refuses it
# (third-party, docs/aws-facts.md §17).
KMS_REFUSED_THROUGH_SECRETS_MANAGER = "Access to KMS is not allowed"
# The id of a key not created yet, for the checks AWS makes before it creates one.
_NEW_KEY_ID = "00000000-0000-0000-0000-not-yet-made"


def _iam_decides(account: str) -> Mapping[str, Any]:
    """The key policy that leaves a key to the IAM of its account alone: what an IAM-only check (tagging on creation)
    amounts to (the default key policy, KMS developer guide key-policy-default)."""
    root = {"AWS": f"arn:aws:iam::{account}:root"}
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": root, "Action": "kms:*", "Resource": "*"}],
    }


# The trust policy of a role, by ARN (None: no such role).
TrustPolicy = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Step:
    """One authorization AWS makes for a request: an action on a resource, with the resource's policy and context."""

    action: str
    resource: str
    resource_account: str
    resource_policy: Mapping[str, Any] | None = None
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    # How the refusal reads: the service's own words where it does not pass IAM's message on.
    refusal: str | None = None
    # Whether the message names the resource (KMS's tag-on-create denial does not).
    names_resource: bool = True


@dataclass(frozen=True)
class Role:
    """One of our template's roles as deployed: its ARN, its identity policies and its trust policy."""

    arn: str
    policies: tuple[Mapping[str, Any], ...]
    trust: Mapping[str, Any]

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


def reconcile_role(settings: Settings) -> Role:
    """template.yaml's ReconcileRole, deployed with these settings."""
    return _reconcile_role(_producer_parameters(settings))


def publisher_role(settings: Settings, account: str) -> Role:
    """consumer/template.yaml's PublisherRole in `account`, deployed for account A's reconcile role."""
    parameters = (
        ("ProducerAccountId", PRODUCER),
        ("ProducerRoleArn", RECONCILE_ROLE_ARN),
        ("RoleName", settings.consumer_role_name),
        ("ParameterPrefix", settings.parameter_prefix),
    )
    return _publisher_role(parameters, account)


def _producer_parameters(settings: Settings) -> tuple[tuple[str, str], ...]:
    """The stack's parameters and the attributes its roles name, as the functions receive them (their settings)."""
    queue_arn = settings.queue_arn or _queue_arn(settings.queue_url) or _placeholder("ReconcileQueue")
    return (
        ("ShareTagKey", settings.share_tag_key),
        ("ShareUntilTagKey", settings.share_until_tag_key),
        ("ConsumerRoleName", settings.consumer_role_name),
        ("ParameterPrefix", settings.parameter_prefix),
        ("ExpiryScheduleGroup", settings.expiry_schedule_group),
        ("ExpiryScheduleRole.Arn", settings.expiry_schedule_role_arn or _placeholder("ExpiryScheduleRole")),
        ("ReconcileQueue.Arn", queue_arn),
        ("ReconcileDeadLetterQueue.Arn", _queue_arn(settings.dead_letter_queue_url) or _placeholder("DeadLetter")),
        ("SweepQueue.Arn", _queue_arn(settings.sweep_queue_url) or _placeholder("SweepQueue")),
        ("ReconcileLogGroup.Arn", f"arn:aws:logs:eu-west-1:{PRODUCER}:log-group:/aws/lambda/secretshare-reconcile"),
        ("SweepLogGroup.Arn", f"arn:aws:logs:eu-west-1:{PRODUCER}:log-group:/aws/lambda/secretshare-sweep"),
    )


def _placeholder(name: str) -> str:
    """The ARN of a stack resource the product was not told about: it matches none of the product's requests."""
    return f"arn:aws:sqs:eu-west-1:{PRODUCER}:not-configured-{name}"


def _queue_arn(url: str) -> str | None:
    """A queue's ARN from its URL (https://sqs.<region>.amazonaws.com/<account>/<name>)."""
    if not url:
        return None
    host, account, name = url.split("/")[2:5]
    region = host.split(".")[1] if host.startswith("sqs.") else "eu-west-1"
    return f"arn:aws:sqs:{region}:{account}:{name}"


@cache
def _reconcile_role(parameters: tuple[tuple[str, str], ...]) -> Role:
    values = dict(parameters)
    attributes = {tuple(name.split(".")): value for name, value in values.items() if "." in name}
    attributes[("ReconcileRole", "Arn")] = RECONCILE_ROLE_ARN
    plain = {name: value for name, value in values.items() if "." not in name}
    role = resolve(load_template(TEMPLATE)["Resources"]["ReconcileRole"]["Properties"], plain, attributes=attributes)
    return Role(
        RECONCILE_ROLE_ARN, tuple(p["PolicyDocument"] for p in role["Policies"]), role["AssumeRolePolicyDocument"]
    )


@cache
def _publisher_role(parameters: tuple[tuple[str, str], ...], account: str) -> Role:
    template = load_template(CONSUMER_TEMPLATE)
    values = {
        **{name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()},
        **dict(parameters),
    }
    role = resolve(template["Resources"]["PublisherRole"]["Properties"], values, {"AWS::AccountId": account})
    arn = f"arn:aws:iam::{account}:role/{role['RoleName']}"
    return Role(arn, tuple(p["PolicyDocument"] for p in role["Policies"]), role["AssumeRolePolicyDocument"])


# --- what each operation asks of IAM ---------------------------------------------------------------------------------


class Steps:
    """The authorization steps of one request of ours, read against moto's state (the key and secret policies AWS
    evaluates with the caller's identity policies)."""

    def __init__(self, request: AwsRequest, account: str, trust_policy: TrustPolicy) -> None:
        self.request = request
        self.account = account  # the caller's account: where an unqualified resource lives
        self.region = request.region
        self.trust_policy = trust_policy

    def __iter__(self) -> Iterator[Step]:
        build = getattr(self, f"_{self.request.service}_{self.request.operation}", None)
        if build is None:
            yield from self._default()
        else:
            yield from build(self.request.parameters)

    def _default(self) -> Iterator[Step]:
        # Operations that take no resource: organizations, tag:GetResources, ListSecrets, CheckNoPublicAccess.
        yield Step(self._action(), "*", self.account)

    def _action(self, operation: str | None = None) -> str:
        prefix = {"resourcegroupstaggingapi": "tag", "accessanalyzer": "access-analyzer"}.get(self.request.service)
        return f"{prefix or self.request.service}:{operation or self.request.operation}"

    # --- Secrets Manager: the secret, with its resource policy ---

    def _secret(self, parameters: Parameters, **context: Any) -> Step:
        arn, policy = _secret(self.account, self.region, parameters["SecretId"])
        return Step(self._action(), arn, self.account, policy, context)

    def _secretsmanager_DescribeSecret(self, parameters: Parameters) -> Iterator[Step]:
        yield self._secret(parameters)

    _secretsmanager_GetResourcePolicy = _secretsmanager_DescribeSecret
    _secretsmanager_PutResourcePolicy = _secretsmanager_DescribeSecret
    _secretsmanager_DeleteResourcePolicy = _secretsmanager_DescribeSecret

    def _secretsmanager_TagResource(self, parameters: Parameters) -> Iterator[Step]:
        tags = {tag["Key"]: tag["Value"] for tag in parameters.get("Tags", [])}
        yield self._secret(parameters, **_tag_context(tags))

    def _secretsmanager_UntagResource(self, parameters: Parameters) -> Iterator[Step]:
        yield self._secret(parameters, **{"aws:TagKeys": list(parameters.get("TagKeys", []))})

    def _secretsmanager_UpdateSecret(self, parameters: Parameters) -> Iterator[Step]:
        """UpdateSecret, and with a new KmsKeyId the KMS calls Secrets Manager makes on the caller's behalf to check
        the key (GenerateDataKey, Decrypt) and re-encrypt the versions (Encrypt): docs/aws-facts.md §1b, §17."""
        step = self._secret(parameters)
        yield step
        if "KmsKeyId" not in parameters:
            return
        key = _key(self.account, self.region, parameters["KmsKeyId"])
        if key is None:
            return  # Secrets Manager answers that itself
        key_arn, key_policy = key
        context = {
            "kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com",
            "kms:CallerAccount": self.account,
            "kms:EncryptionContext:SecretARN": step.resource,
            "kms:EncryptionContext:SecretVersionId": "RequestToValidateKeyAccess",
        }
        for action in ("kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"):
            yield Step(action, key_arn, self.account, key_policy, context, refusal=KMS_REFUSED_THROUGH_SECRETS_MANAGER)

    # --- KMS: the key, with its key policy ---

    def _key_step(self, key_id: str, action: str | None = None, **context: Any) -> Iterator[Step]:
        key = _key(self.account, self.region, key_id)
        if key is None:
            return  # KMS answers NotFound itself
        arn, policy = key
        yield Step(action or self._action(), arn, self.account, policy, {"kms:CallerAccount": self.account, **context})

    def _kms_DescribeKey(self, parameters: Parameters) -> Iterator[Step]:
        yield from self._key_step(parameters["KeyId"])

    _kms_GetKeyPolicy = _kms_DescribeKey
    _kms_ListResourceTags = _kms_DescribeKey
    _kms_PutKeyPolicy = _kms_DescribeKey

    def _kms_TagResource(self, parameters: Parameters) -> Iterator[Step]:
        tags = {tag["TagKey"]: tag["TagValue"] for tag in parameters.get("Tags", [])}
        yield from self._key_step(parameters["KeyId"], **_tag_context(tags))

    def _kms_CreateAlias(self, parameters: Parameters) -> Iterator[Step]:
        """Two resources: the alias (IAM policy) and the key (key policy): botocore's CreateAlias documentation."""
        alias = f"arn:aws:kms:{self.region}:{self.account}:{parameters['AliasName']}"
        yield Step("kms:CreateAlias", alias, self.account, None, {"kms:CallerAccount": self.account})
        yield from self._key_step(parameters["TargetKeyId"])

    def _kms_CreateKey(self, parameters: Parameters) -> Iterator[Step]:
        """CreateKey takes no resource; with Tags it is authorized as kms:TagResource too, by an IAM policy that covers
        every key of the account and region (botocore's CreateKey documentation; KMS developer guide, tag-permissions),
        with the request's tags."""
        tags = {tag["TagKey"]: tag["TagValue"] for tag in parameters.get("Tags", [])}
        context = {"kms:CallerAccount": self.account, **_tag_context(tags)}
        yield Step("kms:CreateKey", "*", self.account, None, context)
        if tags:
            # The key does not exist yet: a policy that covers every key matches, one naming certain keys never does.
            new_key = key_arn(self.account, self.region, None)
            yield Step(
                "kms:TagResource", new_key, self.account, _iam_decides(self.account), context, names_resource=False
            )

    # --- the rest ---

    def _organizations(self, entity: str) -> Iterator[Step]:
        """An operation on one entity of the organization: its root, an OU or an account, by the organization's ARN
        scheme (Service Authorization Reference, AWS Organizations)."""
        backend = organizations_backends[self.account]["aws"]
        org = backend.org
        if org is None:
            yield from self._default()
            return
        kind = "root" if entity.startswith("r-") else "ou" if entity.startswith("ou-") else "account"
        arn = f"arn:aws:organizations::{org.master_account_id}:{kind}/{org.id}/{entity}"
        yield Step(self._action(), arn, org.master_account_id)

    def _organizations_ListParents(self, parameters: Parameters) -> Iterator[Step]:
        yield from self._organizations(parameters["ChildId"])

    def _organizations_ListOrganizationalUnitsForParent(self, parameters: Parameters) -> Iterator[Step]:
        yield from self._organizations(parameters["ParentId"])

    _organizations_ListAccountsForParent = _organizations_ListOrganizationalUnitsForParent

    def _sts_AssumeRole(self, parameters: Parameters) -> Iterator[Step]:
        """The caller's identity policy and the role's trust policy (a resource policy): AssumeRole's documentation."""
        role_arn = parameters["RoleArn"]
        yield Step("sts:AssumeRole", role_arn, role_arn.split(":")[4], self.trust_policy(role_arn))

    def _sts_GetCallerIdentity(self, parameters: Parameters) -> Iterator[Step]:
        return iter(())  # needs no permission (STS API reference)

    def _cloudformation_DescribeStacks(self, parameters: Parameters) -> Iterator[Step]:
        """The stack named (its id unknown to the caller: any one stands for it, since a policy names stacks by
        name with a wildcard id); without a name, every stack, which "requires ListStacks and DescribeStacks
        permissions" (botocore's cloudformation model, DescribeStacksInput.StackName)."""
        name = parameters.get("StackName")
        stack = f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{name or 'any'}/{_ANY_STACK_ID}"
        if name is None:
            yield Step("cloudformation:ListStacks", "*", self.account)
        yield Step("cloudformation:DescribeStacks", stack, self.account)

    def _scheduler(self, parameters: Parameters) -> Step:
        group = parameters.get("GroupName") or "default"
        arn = f"arn:aws:scheduler:{self.region}:{self.account}:schedule/{group}/{parameters['Name']}"
        return Step(self._action(), arn, self.account)

    def _scheduler_GetSchedule(self, parameters: Parameters) -> Iterator[Step]:
        yield self._scheduler(parameters)

    _scheduler_DeleteSchedule = _scheduler_GetSchedule

    def _scheduler_CreateSchedule(self, parameters: Parameters) -> Iterator[Step]:
        """The schedule, and iam:PassRole of its target's role to Scheduler (Service Authorization Reference)."""
        yield self._scheduler(parameters)
        role = parameters.get("Target", {}).get("RoleArn", "")
        yield Step("iam:PassRole", role, role.split(":")[4], None, {"iam:PassedToService": "scheduler.amazonaws.com"})

    _scheduler_UpdateSchedule = _scheduler_CreateSchedule

    def _sqs_SendMessageBatch(self, parameters: Parameters) -> Iterator[Step]:
        arn = _queue_arn(parameters["QueueUrl"]) or ""
        yield Step("sqs:SendMessage", arn, arn.split(":")[4])

    _sqs_SendMessage = _sqs_SendMessageBatch

    def _parameter(self, parameters: Parameters, action: str | None = None) -> Step:
        name = parameters["Name"].lstrip("/")
        return Step(
            action or self._action(), f"arn:aws:ssm:{self.region}:{self.account}:parameter/{name}", self.account
        )

    def _ssm_GetParameter(self, parameters: Parameters) -> Iterator[Step]:
        yield self._parameter(parameters)

    _ssm_DeleteParameter = _ssm_GetParameter

    def _ssm_PutParameter(self, parameters: Parameters) -> Iterator[Step]:
        """PutParameter, and with Tags ssm:AddTagsToResource too (SSM's PutParameter documentation)."""
        yield self._parameter(parameters)
        if parameters.get("Tags"):
            yield self._parameter(parameters, "ssm:AddTagsToResource")


_ANY_STACK_ID = "4c5e8a10-ce2f-11ef-9a3b-0a1b2c3d4e5f"


def _tag_context(tags: Mapping[str, str]) -> dict[str, Any]:
    return {**{f"aws:RequestTag/{key}": value for key, value in tags.items()}, "aws:TagKeys": list(tags)}


def _secret(account: str, region: str, secret_id: str) -> tuple[str, Mapping[str, Any] | None]:
    """The secret's full ARN and resource policy; a secret that does not exist is named as the request names it."""
    try:
        secret = secretsmanager_backends[account][region].describe_secret(secret_id)
    except SecretNotFoundException:
        if secret_id.startswith("arn:"):
            return secret_id, None
        return f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}", None
    policy = getattr(secret, "policy", None)  # a replica holds none of its own
    return secret.arn, json.loads(policy) if policy else None


def key_arn(account: str, region: str, key_id: str | None) -> str:
    """The ARN of the key a request names, or of a key KMS has not created yet (`key_id` None)."""
    found = _key(account, region, key_id) if key_id else None
    return found[0] if found else f"arn:aws:kms:{region}:{account}:key/{_NEW_KEY_ID}"


def _key(account: str, region: str, key_id: str) -> tuple[str, Mapping[str, Any]] | None:
    """The key's ARN and key policy, whichever way the request names it; None when it does not exist."""
    backend = kms_backends[account][region]
    try:
        key = backend.keys[backend.any_id_to_key_id(key_id)]
    except (KeyError, TypeError, AttributeError):
        return None
    return key.arn, json.loads(key.policy)


class Authorizer:
    """Decides steps with the evaluator, each distinct one once (per worker: decisions never change)."""

    _decided: dict[str, tuple[bool, str]] = {}  # noqa: RUF012 (one cache for the worker, on purpose)

    def __init__(self, evaluator: Callable[[], Evaluator]) -> None:
        self._evaluator = evaluator

    def refusal(self, role: Role, step: Step) -> str | None:
        """None when the role may take the step; otherwise AWS's message."""
        request = Request(
            principal=role.arn,
            action=step.action,
            resource=step.resource,
            resource_account=step.resource_account,
            identity_policies=role.policies,
            resource_policy=step.resource_policy,
            context={"aws:PrincipalArn": role.arn, "aws:PrincipalAccount": role.account, **step.context},
            strict_context=False,
        )
        key = json.dumps(request.simulation(), sort_keys=True)
        if key not in self._decided:
            decision = self._evaluator().decide(request)
            self._decided[key] = (decision.allowed, _because(step.action, decision.result, decision.analysis))
        allowed, because = self._decided[key]
        if allowed:
            return None
        if step.refusal:
            return step.refusal
        session = f"arn:aws:sts::{role.account}:assumed-role/{role.arn.split('/')[-1]}/secretshare"
        on = f" on resource: {step.resource}" if step.names_resource else ""
        return f"User: {session} is not authorized to perform: {step.action}{on} {because}"


def _because(action: str, result: str, analysis: Mapping[str, Any]) -> str:
    """IAM's reason, as AWS words it (IAM user guide, troubleshoot_access-denied): an explicit deny, or no policy of
    the deciding kind allows the action."""
    identity = analysis.get("identity") or {}
    if result == "ExplicitlyDenied":
        kind = "identity-based" if identity.get("deny") else "resource-based"
        return f"with an explicit deny in a {kind} policy"
    kind = "resource-based" if identity.get("allow") else "identity-based"
    return f"because no {kind} policy allows the {action} action"
