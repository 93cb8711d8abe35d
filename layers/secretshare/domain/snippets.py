"""What a consumer pastes to read a shared secret from its tooling: an External Secrets Operator `SecretStore` and
`ExternalSecret`, a Secrets Store CSI driver `SecretProviderClass` (AWS provider), or Terraform (a provider in the
secret's region, the data source, and the consumer policy on a role).

Each names the secret by its full ARN, random suffix included, and its region: "To retrieve a secret from another
account, you must use an ARN", and "we recommend that you specify a complete ARN rather than a partial ARN"
(GetSecretValue's SecretId, Secrets Manager API reference); and a secret is read from its own region's endpoint. The
role is the consumer's own, which account A does not know: a placeholder to fill in.

The shapes: External Secrets Operator's `external-secrets.io/v1` (v0.17.0 "stops serving v1beta1 apis": its release
notes), whose AWS provider takes `service`, `region` and `role`, "a Role ARN which the SecretManager provider will
assume" (its SecretStore reference); the CSI driver's `secrets-store.csi.x-k8s.io/v1` with the AWS provider's
`region` and `objects` (`objectName`, `objectType`, `objectAlias`); Terraform's AWS provider resources.
"""

from __future__ import annotations

import json
import re

from .arns import parse_arn

FORMATS = ("iam", "external-secrets", "csi", "terraform")
ROLE_ARN_PLACEHOLDER = "<ARN of the role holding the consumer policy>"
ROLE_NAME_PLACEHOLDER = "<name of the role that reads the secret>"


def consumer_snippet(kind: str, secret_arn: str, name: str, consumer_policy: str) -> str:
    """The snippet of `kind` (one of FORMATS) for reading the secret `name` by its `secret_arn`; "iam" is the
    consumer policy itself."""
    arn = parse_arn(secret_arn)
    if arn is None:
        raise ValueError(f"{secret_arn!r} is not an ARN")
    if kind == "iam":
        return consumer_policy
    if kind == "external-secrets":
        return _external_secrets(secret_arn, arn.region, name)
    if kind == "csi":
        return _csi(secret_arn, arn.region, name)
    if kind == "terraform":
        return _terraform(secret_arn, arn.region, name, consumer_policy)
    raise ValueError(f"{kind!r} is not one of {', '.join(FORMATS)}")


def _external_secrets(secret_arn: str, region: str, name: str) -> str:
    store = _k8s_name(f"secretshare-{region}")
    target = _k8s_name(name)
    return f"""\
# External Secrets Operator: the store reads through the role holding the consumer policy (IRSA or Pod Identity).
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: {store}
spec:
  provider:
    aws:
      service: SecretsManager
      region: {region}
      role: {json.dumps(ROLE_ARN_PLACEHOLDER)}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: {target}
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: {store}
    kind: SecretStore
  target:
    name: {target}
  data:
    - secretKey: value
      remoteRef:
        key: {json.dumps(secret_arn)}
"""


def _csi(secret_arn: str, region: str, name: str) -> str:
    alias = _k8s_name(name)
    objects = f'- objectName: {json.dumps(secret_arn)}\n  objectType: "secretsmanager"\n  objectAlias: "{alias}"\n'
    indented = "".join(f"      {line}\n" for line in objects.splitlines())
    return f"""\
# Secrets Store CSI driver, AWS provider: the pod's service account maps to the role holding the consumer policy.
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata:
  name: {alias}
spec:
  provider: aws
  parameters:
    region: {region}
    objects: |
{indented}"""


def _terraform(secret_arn: str, region: str, name: str, consumer_policy: str) -> str:
    label = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "secret"
    provider = "secretshare_" + region.replace("-", "_")
    policy = "\n".join(f"    {line}" for line in consumer_policy.splitlines())
    return f"""\
# Terraform: the secret by its ARN, from its own region; the consumer policy on the role that reads it.
provider "aws" {{
  alias  = "{provider}"
  region = "{region}"
}}

data "aws_secretsmanager_secret_version" "{label}" {{
  provider  = aws.{provider}
  secret_id = {json.dumps(secret_arn)}
}}

resource "aws_iam_role_policy" "read_{label}" {{
  name   = "secretshare-read-{label}"
  role   = "{ROLE_NAME_PLACEHOLDER}"
  policy = <<-POLICY
{policy}
  POLICY
}}
"""


def _k8s_name(text: str) -> str:
    """A Kubernetes object name (RFC 1123 subdomain label: lowercase letters, digits and '-', at most 63)."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")
    return name or "secret"
