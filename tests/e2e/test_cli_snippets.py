"""`secretshare policy --format ...`: what a consumer's tooling reads the secret with, each naming the full ARN and
its region, checked for shape by parsing it as its tool would (YAML for Kubernetes, HCL for Terraform)."""

import json
import re

import hcl2
import pytest
import yaml
from commandline import shared_secret

from secretshare_cli.cli import EXIT_OK

K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@pytest.fixture
def shared(aws, run):
    arn = shared_secret(aws, "222222222222", name="payments/db_password")
    run("reconcile", arn)
    return arn


def printed(run, kind):
    outcome = run("policy", "payments/db_password", "--format", kind)
    assert outcome.exit_code == EXIT_OK, outcome.stderr
    return outcome.stdout


def test_external_secrets_store_and_secret_name_the_full_arn_in_its_region(shared, run):
    store, external = yaml.safe_load_all(printed(run, "external-secrets"))

    assert (store["apiVersion"], store["kind"]) == ("external-secrets.io/v1", "SecretStore")
    assert store["spec"]["provider"]["aws"] | {"role": None} == {
        "service": "SecretsManager",
        "region": "eu-west-1",
        "role": None,
    }
    assert (external["apiVersion"], external["kind"]) == ("external-secrets.io/v1", "ExternalSecret")
    assert external["spec"]["secretStoreRef"] == {"name": store["metadata"]["name"], "kind": "SecretStore"}
    assert external["spec"]["data"] == [{"secretKey": "value", "remoteRef": {"key": shared}}]
    assert all(K8S_NAME.fullmatch(doc["metadata"]["name"]) for doc in (store, external))


def test_csi_secret_provider_class_names_the_full_arn_in_its_region(shared, run):
    document = yaml.safe_load(printed(run, "csi"))

    assert (document["apiVersion"], document["kind"]) == ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass")
    assert document["spec"]["provider"] == "aws"
    assert document["spec"]["parameters"]["region"] == "eu-west-1"
    (listed,) = yaml.safe_load(document["spec"]["parameters"]["objects"])
    assert listed == {"objectName": shared, "objectType": "secretsmanager", "objectAlias": "payments-db-password"}
    assert K8S_NAME.fullmatch(document["metadata"]["name"])


def test_terraform_reads_the_full_arn_in_its_region_and_attaches_the_published_policy(shared, run):
    document = unquoted(hcl2.loads(printed(run, "terraform")))

    (provider,) = document["provider"]
    assert provider["aws"]["region"] == "eu-west-1"
    (data,) = document["data"]
    version = data["aws_secretsmanager_secret_version"]["payments_db_password"]
    assert version["secret_id"] == shared
    assert version["provider"] == "${aws." + provider["aws"]["alias"] + "}"
    (resource,) = document["resource"]
    heredoc = resource["aws_iam_role_policy"]["read_payments_db_password"]["policy"]
    assert heredoc.startswith("<<-POLICY\n")
    assert json.loads(heredoc.split("\n", 1)[1].rsplit("\n", 1)[0]) == json.loads(printed(run, "iam"))


def unquoted(value):
    """python-hcl2's parse with the quotes of labels and strings taken off."""
    if isinstance(value, dict):
        return {unquoted(key): unquoted(item) for key, item in value.items() if key != "__is_block__"}
    if isinstance(value, list):
        return [unquoted(item) for item in value]
    if isinstance(value, str) and len(value) > 1 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def test_policy_json_carries_every_snippet(shared, run):
    document = json.loads(run("policy", "payments/db_password", "--json").stdout)
    assert set(document["snippets"]) == {"external-secrets", "csi", "terraform"}
    assert all(shared in text for text in document["snippets"].values())
