"""CloudFormation in account A: the deployed secretshare stacks, whose settings the command line acts with.

Only the command line reads them, as the person running it (OPERATOR_ROLE): the functions get their settings from
their environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from botocore.exceptions import ClientError

from ..domain.settings import LATER_STACK_PARAMETERS, STACK_OUTPUT_SETTINGS, STACK_PARAMETER_SETTINGS
from .base import OPERATOR_ROLE, Service, calls, error_code

# Stacks that hold no working deployment: a failed creation rolled back, or a deletion under way.
_GONE_STATUSES = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_IN_PROGRESS"})


@dataclass(frozen=True)
class DeployedStack:
    """A stack of template.yaml: its name, and the environment its functions get (variable name -> value)."""

    name: str
    environment: dict[str, str]


class CloudFormation(Service):
    """The stacks of this account and region."""

    name = "cloudformation"

    @calls("cloudformation:DescribeStacks", role=OPERATOR_ROLE)
    def stack(self, name: str) -> DeployedStack | None:
        """The stack called `name` when it is a secretshare stack; None when there is no such stack."""
        try:
            (found,) = self._client().describe_stacks(StackName=name)["Stacks"]
        except ClientError as err:
            # AWS answers ValidationError "Stack with id <name> does not exist" (the API reference names no error for
            # DescribeStacks; the answer is quoted in boto/boto3 issue 2807).
            if error_code(err) == "ValidationError" and "does not exist" in str(err):
                return None
            raise
        return _deployed(found)

    @calls("cloudformation:DescribeStacks", role=OPERATOR_ROLE)
    def secretshare_stacks(self) -> Iterator[DeployedStack]:
        """Every working secretshare stack of the region: a stack with all of template.yaml's setting parameters.
        Without a stack name DescribeStacks "requires ListStacks and DescribeStacks permissions" (botocore's
        cloudformation model, DescribeStacksInput.StackName)."""
        for page in self._client().get_paginator("describe_stacks").paginate():
            for found in page["Stacks"]:
                deployed = _deployed(found)
                if deployed and found.get("StackStatus") not in _GONE_STATUSES:
                    yield deployed


def _deployed(stack: dict) -> DeployedStack | None:
    given = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    parameters = {**LATER_STACK_PARAMETERS, **given}
    if not set(STACK_PARAMETER_SETTINGS) <= set(parameters):
        return None
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    environment = {variable: parameters[key] for key, variable in STACK_PARAMETER_SETTINGS.items()}
    environment |= {variable: outputs[key] for key, variable in STACK_OUTPUT_SETTINGS.items() if key in outputs}
    return DeployedStack(stack["StackName"], environment)
