"""The consumer accounts: their parameters, through the publisher role each one deploys (consumer/template.yaml).

What an account holds is untrusted input; an account that does not answer or refuses is reported, never retried in
the same invocation (`Clients.failed_accounts`).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import ConsumerAccountError
from ..domain.names import MANAGED_BY_TAG
from .base import PUBLISHER_ROLE, Service, calls, error_code


class ConsumerAccounts(Service):
    """SSM in each consumer account, as its publisher role (assumed once per account and invocation)."""

    name = "ssm"

    def _ssm(self, account: str, partition: str, region: str) -> Any:
        """An SSM client in a consumer account, through its publisher role; an account that already failed in this
        invocation fails again at once, with the same reason."""
        role_arn = self.settings.consumer_role_arn(partition, account)
        if account in self.clients.failed_accounts:
            raise ConsumerAccountError(account, role_arn, self.clients.failed_accounts[account])
        with self.clients.assuming.of(account):  # one AssumeRole per account, even when threads ask at once
            return self._assumed_ssm(account, role_arn, region)

    @calls("sts:AssumeRole")
    def _assumed_ssm(self, account: str, role_arn: str, region: str) -> Any:
        if self.clients.has("ssm", region, role_arn):
            return self.clients.get("ssm", region, role_arn)
        try:
            credentials = self.clients.get("sts", region).assume_role(RoleArn=role_arn, RoleSessionName="secretshare")[
                "Credentials"
            ]
        except (ClientError, BotoCoreError) as err:
            reason = self.clients.failed_accounts[account] = f"cannot assume the publisher role: {err}"
            raise ConsumerAccountError(account, role_arn, reason) from err
        return self.clients.get(
            "ssm",
            region,
            role_arn,
            credentials["Expiration"],
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    @calls("ssm:GetParameter", role=PUBLISHER_ROLE)
    def read_parameter(self, account: str, name: str, partition: str, region: str) -> str | None:
        """The parameter's value in a consumer account, or None when it does not exist."""
        ssm = self._ssm(account, partition, region)
        try:
            return ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as err:
            if error_code(err) == "ParameterNotFound":
                return None
            raise self._failure(account, partition, "cannot read", name, err) from err
        except BotoCoreError as err:
            raise self._failure(account, partition, "cannot read", name, err) from err

    @calls("ssm:PutParameter", "ssm:AddTagsToResource", role=PUBLISHER_ROLE)
    def write_parameter(
        self,
        account: str,
        name: str,
        value: str,
        description: str,
        *,
        exists: bool | None,
        partition: str,
        region: str,
    ) -> None:
        """Create the parameter (with tags) or overwrite it (AWS refuses tags together with Overwrite).

        `exists` None means not read: try to create, and overwrite if it is there after all.
        """
        ssm = self._ssm(account, partition, region)
        # Intelligent-Tiering: AWS picks the Advanced tier when a value outgrows the Standard tier's 4 KB.
        arguments: dict[str, Any] = {
            "Name": name,
            "Value": value,
            "Type": "String",
            "Description": description,
            "Tier": "Intelligent-Tiering",
        }
        try:
            if exists:
                ssm.put_parameter(**arguments, Overwrite=True)
                return
            try:
                ssm.put_parameter(**arguments, Tags=[{"Key": MANAGED_BY_TAG[0], "Value": MANAGED_BY_TAG[1]}])
            except ClientError as err:
                if exists is not None or error_code(err) != "ParameterAlreadyExists":
                    raise
                ssm.put_parameter(**arguments, Overwrite=True)
        except (ClientError, BotoCoreError) as err:
            raise self._failure(account, partition, "cannot write", name, err) from err

    @calls("ssm:DeleteParameter", role=PUBLISHER_ROLE)
    def delete_parameter(self, account: str, name: str, partition: str, region: str) -> None:
        """Delete the parameter in a consumer account; one already gone is fine."""
        ssm = self._ssm(account, partition, region)
        try:
            ssm.delete_parameter(Name=name)
        except ClientError as err:
            if error_code(err) != "ParameterNotFound":
                raise self._failure(account, partition, "cannot delete", name, err) from err
        except BotoCoreError as err:
            raise self._failure(account, partition, "cannot delete", name, err) from err

    def _failure(
        self, account: str, partition: str, verb: str, name: str, err: ClientError | BotoCoreError
    ) -> ConsumerAccountError:
        """The failure of one call in a consumer account; an account that did not answer is not asked again in this
        invocation (the next reconciliation or sweep tries again)."""
        role_arn = self.settings.consumer_role_arn(partition, account)
        reason = f"{verb} parameter {name}: {err}"
        if isinstance(err, BotoCoreError):
            self.clients.failed_accounts[account] = reason
        return ConsumerAccountError(account, role_arn, reason)
