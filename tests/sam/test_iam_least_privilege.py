"""The functions' roles allow what the code calls and nothing more, held against the gateway's `calls` declarations
(`secretshare.gateway.REQUIRED_ACTIONS`).

Two halves:
- static: each role in template.yaml (and the consumer role in consumer/template.yaml) allows exactly the IAM
  actions of the operations its code performs, plus a short allowance list that says why each extra is there;
- dynamic: running the handlers on moto through a share, edit, untag and delete, and a sweep, every AWS call
  made is recorded and must be an operation that REQUIRED_ACTIONS lists and the role's list below includes.
"""

from __future__ import annotations

from typing import Any

import boto3
from support.sam import (
    CONSUMER_TEMPLATE,
    REGION,
    REPO,
    LambdaContext,
    as_list,
    load_sample,
    load_template,
    resources_of_type,
    sqs_batch,
)

from secretshare.domain.names import (
    GRANTS_TAG_KEY,
    MANAGED_BY_TAG,
    NAME_TAG_PREFIX,
    POOL_KEY_TAG_VALUE,
    POOL_KEY_TAG_VALUES,
    SHARED_KEY_TAG_VALUE,
)
from secretshare.gateway import REQUIRED_ACTIONS
from secretshare.gateway.base import OPERATOR_ROLE, PUBLISHER_ROLE, RECONCILE_ROLE
from secretshare.reconciler.sweep import sweep_message

Operation = tuple[str, str]

# Which operations each principal performs, as the gateway's `calls` declarations say: the functions' role in A
# (both functions run as ReconcileRole: consumer accounts trust that one role ARN), and the publisher role each
# consumer account deploys (assumed by the reconcile role, so the reconcile role itself never needs SSM).
ROLE_OPERATIONS: set[Operation] = set(REQUIRED_ACTIONS[RECONCILE_ROLE])
CONSUMER_OPERATIONS: set[Operation] = set(REQUIRED_ACTIONS[PUBLISHER_ROLE])
# The sweep's read-only check reads what a reconciliation reads (STS aside: assuming a role changes nothing); its only
# writes queue reconciliations and hand the rest over.
SWEEP_WRITES: set[Operation] = {("sqs", "SendMessageBatch"), ("sqs", "SendMessage")}
# Actions a role needs that are not calls of the library, each with its reason.
LAMBDA_RUNTIME = {
    "logs:CreateLogStream": "the function's log group",
    "logs:PutLogEvents": "the function's log group",
    "xray:PutTraceSegments": "Tracing: Active",
    "xray:PutTelemetryRecords": "Tracing: Active",
}
RECONCILE_ALLOWANCE = {
    **LAMBDA_RUNTIME,
    "sqs:ReceiveMessage": "SQS event source",
    "sqs:DeleteMessage": "SQS event source",
    "sqs:GetQueueAttributes": "SQS event source",
    # UpdateSecret(KmsKeyId=...) re-encrypts the secret under the new key with the caller's permissions.
    "kms:Decrypt": "UpdateSecret moving a secret to a new key",
    "kms:Encrypt": "UpdateSecret moving a secret to a new key",
    "kms:GenerateDataKey": "UpdateSecret moving a secret to a new key",
    "iam:PassRole": "expiry schedules send to the queue as ExpiryScheduleRole",
}
# Actions that take no resource (or, for CreateKey, whose resource does not exist yet).
RESOURCE_STAR_ALLOWED = {
    "secretsmanager:ListSecrets",
    "access-analyzer:CheckNoPublicAccess",
    "tag:GetResources",
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "organizations:ListParents",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
    "sts:GetCallerIdentity",
    "kms:CreateKey",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


def action(operation: Operation) -> str:
    return {**REQUIRED_ACTIONS[RECONCILE_ROLE], **REQUIRED_ACTIONS[PUBLISHER_ROLE]}[operation]


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    properties = template["Resources"][role]["Properties"]
    return [
        statement
        for policy in properties.get("Policies", [])
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]


def allowed_actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def statements_with(statements: list[dict[str, Any]], wanted: str) -> list[dict[str, Any]]:
    return [s for s in statements if wanted in as_list(s["Action"])]


# --- static: the templates ---------------------------------------------------------------------------------------


def test_every_required_action_belongs_to_a_principal():
    assert set(REQUIRED_ACTIONS) == {RECONCILE_ROLE, PUBLISHER_ROLE, OPERATOR_ROLE}
    assert ROLE_OPERATIONS and CONSUMER_OPERATIONS
    assert not ROLE_OPERATIONS & CONSUMER_OPERATIONS, "each operation is made as one role"


def test_what_only_the_command_line_calls_is_documented_for_the_person_running_it():
    text = (REPO / "docs" / "operating.md").read_text()
    for operation in REQUIRED_ACTIONS[OPERATOR_ROLE].values():
        assert f"`{operation}`" in text, operation


def test_function_role_allows_exactly_its_operations_and_the_allowance():
    statements = role_statements(load_template(), "ReconcileRole")
    granted = allowed_actions(statements)
    wanted = {action(op) for op in ROLE_OPERATIONS}
    assert wanted - granted == set(), "missing"
    assert granted - wanted - set(RECONCILE_ALLOWANCE) == set(), "extra"
    assert set(RECONCILE_ALLOWANCE) - granted == set(), "allowance no longer needed"


def test_function_role_has_no_wildcard_actions_and_star_resources_only_where_aws_allows_nothing_else():
    for statement in role_statements(load_template(), "ReconcileRole"):
        assert statement["Effect"] == "Allow"
        assert not any("*" in a for a in as_list(statement["Action"])), statement
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) <= RESOURCE_STAR_ALLOWED, statement


def test_functions_use_the_template_roles_so_sam_adds_no_managed_policies():
    template = load_template()
    functions = resources_of_type(template, "AWS::Serverless::Function")
    roles = {name: f["Properties"]["Role"] for name, f in functions.items()}
    assert roles == {
        "ReconcileFunction": {"Fn::GetAtt": ["ReconcileRole", "Arn"]},
        "SweepFunction": {"Fn::GetAtt": ["ReconcileRole", "Arn"]},
    }
    assert not any("Policies" in f["Properties"] for f in functions.values())
    assert "Policies" not in template["Globals"]["Function"]


def test_reconcile_role_assumes_only_the_consumer_role_by_name():
    (statement,) = statements_with(role_statements(load_template(), "ReconcileRole"), "sts:AssumeRole")
    assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${ConsumerRoleName}"}


def test_key_creation_and_tagging_are_limited_to_secretshares_tags():
    statements = role_statements(load_template(), "ReconcileRole")
    (create,) = statements_with(statements, "kms:CreateKey")
    assert create["Condition"]["StringEquals"] == {f"aws:RequestTag/{MANAGED_BY_TAG[0]}": MANAGED_BY_TAG[1]}
    # A key for one secret, or a key of the pool: opened empty, so open.
    assert create["Condition"]["StringLike"] == {
        f"aws:RequestTag/{GRANTS_TAG_KEY}": [f"{NAME_TAG_PREFIX}*", POOL_KEY_TAG_VALUE]
    }
    assert sorted(create["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"]) == [
        MANAGED_BY_TAG[0],
        GRANTS_TAG_KEY,
    ]
    # Tagging on creation is TagResource with exactly the tags CreateKey sends; any other tagging, the grants tag.
    existing, new_keys = sorted(statements_with(statements, "kms:TagResource"), key=lambda s: s["Sid"])
    assert (new_keys["Sid"], new_keys["Condition"]) == ("TagNewKeys", create["Condition"])
    assert existing["Condition"]["StringLike"] == {
        f"aws:RequestTag/{GRANTS_TAG_KEY}": [SHARED_KEY_TAG_VALUE, f"{NAME_TAG_PREFIX}*", *POOL_KEY_TAG_VALUES]
    }
    assert existing["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"] == [GRANTS_TAG_KEY]


def test_decrypt_and_encrypt_only_through_secrets_manager():
    statements = role_statements(load_template(), "ReconcileRole")
    (reencrypt,) = statements_with(statements, "kms:Decrypt")
    assert set(as_list(reencrypt["Action"])) == {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}
    # Any region: replicas move to keys in their own regions through Secrets Manager there.
    assert reencrypt["Condition"] == {
        "StringLike": {"kms:ViaService": {"Fn::Sub": "secretsmanager.*.${AWS::URLSuffix}"}}
    }


def test_account_a_resources_are_scoped_to_the_stacks_account():
    for statement in role_statements(load_template(), "ReconcileRole"):
        for resource in as_list(statement["Resource"]):
            text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else ""
            # Keys and secrets in every region of the account: replicas live in other regions.
            if ":kms:" in text:
                assert ":kms:*:${AWS::AccountId}:" in text
            if ":secretsmanager:" in text:
                assert ":secretsmanager:*:${AWS::AccountId}:secret:" in text or statement["Sid"] == "StatusTag"


def test_the_role_may_write_the_status_tag_and_no_other_tag_of_a_secret():
    statements = role_statements(load_template(), "ReconcileRole")
    (status,) = statements_with(statements, "secretsmanager:TagResource")
    assert set(as_list(status["Action"])) == {"secretsmanager:TagResource", "secretsmanager:UntagResource"}
    assert status["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*"
    }
    assert status["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": [{"Fn::Sub": "${ShareTagKey}-status"}]}}


def test_expiry_schedules_are_limited_to_secretshares_group_and_names():
    statements = role_statements(load_template(), "ReconcileRole")
    (schedules,) = statements_with(statements, "scheduler:CreateSchedule")
    assert schedules["Resource"]["Fn::Sub"].endswith(":schedule/${ExpiryScheduleGroup}/secretshare-expiry-*")
    (pass_role,) = statements_with(statements, "iam:PassRole")
    assert pass_role["Resource"] == {"Fn::GetAtt": ["ExpiryScheduleRole", "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_consumer_role_allows_exactly_the_consumer_operations_under_the_producers_prefix():
    consumer = load_template(CONSUMER_TEMPLATE)
    (role,) = resources_of_type(consumer, "AWS::IAM::Role").values()
    statements = [s for p in role["Properties"]["Policies"] for s in as_list(p["PolicyDocument"]["Statement"])]
    assert allowed_actions(statements) == {action(op) for op in CONSUMER_OPERATIONS}
    parameters = "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:parameter${ParameterPrefix}/${ProducerAccountId}/*"
    assert {str(r) for s in statements for r in as_list(s["Resource"])} == {str({"Fn::Sub": parameters})}


def test_consumer_role_trusts_only_the_producers_reconcile_role():
    consumer = load_template(CONSUMER_TEMPLATE)
    (role,) = resources_of_type(consumer, "AWS::IAM::Role").values()
    (trust,) = as_list(role["Properties"]["AssumeRolePolicyDocument"]["Statement"])
    assert trust["Effect"] == "Allow" and trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ProducerAccountId}:root"}}
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": {"Ref": "ProducerRoleArn"}}}
    assert role["Properties"]["RoleName"] == {"Ref": "RoleName"}
    assert consumer["Parameters"]["RoleName"]["Default"] == "secretshare-publisher"


# --- dynamic: the calls the handlers make ------------------------------------------------------------------------


class Recorder:
    """Every (service, operation) called through boto3's default session, as the handlers use it."""

    def __init__(self, session: boto3.Session) -> None:
        self.operations: set[Operation] = set()
        session.events.register("before-call", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.operations.add((model.service_model.service_name, model.name))


def test_the_reconcile_handler_calls_only_listed_operations(world, default_session, reconcile_app, monkeypatch):
    # The organization allow-list, so ListAccounts is called too: A manages an organization with one member.
    organizations = world.own_session.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    member = organizations.create_account(AccountName="b", Email="b@example.com")["CreateAccountStatus"]["AccountId"]
    monkeypatch.setenv("ALLOWED_CONSUMERS", "organization")
    recorder = Recorder(default_session)

    arn = world.create_secret("payments/db-password", share_with=member)
    shared_key = world.own_session.client("kms").create_key()["KeyMetadata"]["Arn"]
    other = world.create_secret("billing/api-key", share_with=f"{member} 12345")
    world.secretsmanager.update_secret(SecretId=other, KmsKeyId=shared_key)

    def reconcile(secret_arn: str) -> None:
        response = reconcile_app.handler(sqs_batch(sweep_message(secret_arn)), LambdaContext())
        assert response == {"batchItemFailures": []}

    reconcile(arn)  # share: new key, alias, policies, parameter
    reconcile(other)  # share on an existing customer key: tag it, grant on it
    world.secretsmanager.untag_resource(SecretId=arn, TagKeys=["share-with"])
    reconcile(arn)  # revoke: key policy, resource policy, parameter deleted
    world.secretsmanager.delete_secret(SecretId=other, ForceDeleteWithoutRecovery=True)
    event = load_sample("cloudtrail-put-resource-policy.json")  # names the secret by name only
    event["detail"]["requestParameters"]["secretId"] = "billing/api-key"
    event["detail"]["responseElements"] = None
    response = reconcile_app.handler(sqs_batch(event), LambdaContext())  # a deleted secret known by name
    assert response == {"batchItemFailures": []}

    producer_side = {op for op in recorder.operations if op[0] != "ssm"}
    assert producer_side - ROLE_OPERATIONS == set(), "REQUIRED_ACTIONS misses an operation"
    assert recorder.operations - producer_side - CONSUMER_OPERATIONS == set()
    # The scenario exercised the interesting paths, not just reads.
    assert {("kms", "CreateKey"), ("organizations", "ListAccounts"), ("sts", "GetCallerIdentity")} <= producer_side


def test_the_sweep_handler_calls_only_listed_operations(world, default_session, sweep_app, monkeypatch):
    queue = world.sqs.create_queue(
        QueueName="reconcile.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", queue)
    monkeypatch.setenv(
        "SHARED_KEY_ARN", world.own_session.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    )
    world.create_secret("payments/db-password", share_with="222222222222")
    recorder = Recorder(default_session)

    assert sweep_app.handler({}, LambdaContext()) == {"checked": 1, "queued": 1, "resume_after": None}

    producer_side = {op for op in recorder.operations if op[0] != "ssm"}
    assert producer_side - ROLE_OPERATIONS == set()
    writes = {op for op in producer_side if op[0] != "sts" and not op[1].startswith(("Get", "Describe", "List"))}
    assert writes <= SWEEP_WRITES
    assert recorder.operations - producer_side - CONSUMER_OPERATIONS == set()
    assert {("resourcegroupstaggingapi", "GetResources"), ("sqs", "SendMessageBatch")} <= recorder.operations
