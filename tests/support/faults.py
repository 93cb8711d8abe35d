"""Faults at the AWS boundary, in AWS's own wire format, and a clock for botocore that does not wait.

`AwsFaults` stands in front of moto on one boto3 session. It listens on botocore's `before-send` event, which
fires once per HTTP attempt, inside botocore's retry loop: an attempt it faults is answered with the HTTP error
AWS sends (status, error code and message, JSON or XML as the service speaks), parsed by botocore into the
same exception the real service produces and retried, or not, by botocore's own retry mode. An attempt it
does not fault goes to moto. A faulted attempt never reaches moto, as a refused request never changes AWS
(moto listens on `before-send` too, and would otherwise apply the request before botocore saw the fault).

`VirtualClock` replaces botocore's clock, not its logic: backoff delays are recorded instead of slept, and
the adaptive retry mode's rate limiter sees time run ahead, so a throttled test takes milliseconds while
every retry decision is still botocore's own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import EndpointConnectionError
from moto.core.models import botocore_stubber

Parameters = dict[str, Any]
Answer = tuple[int, dict[str, Any]]  # HTTP status and the response body (an error body when status >= 300)

# The error codes each service really returns for these conditions.
THROTTLING = {"sts": "Throttling"}  # every other service says ThrottlingException
ACCESS_DENIED = {"sts": "AccessDenied"}  # every other service says AccessDeniedException


def throttling_code(service: str) -> str:
    return THROTTLING.get(service, "ThrottlingException")


def access_denied_code(service: str) -> str:
    return ACCESS_DENIED.get(service, "AccessDeniedException")


def _denied_status(service: str) -> int:
    return 403 if service in ACCESS_DENIED else 400


class _Body:
    """The `raw` of an AWSResponse: botocore reads the body through `stream()`."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Any:
        yield self._content


@dataclass
class Fault:
    """Answer matching attempts with an HTTP error, or with `answer` (which may also succeed)."""

    operation: str  # "<service>.<Operation>" as boto3 names the service ("kms.PutKeyPolicy"), or "*"
    code: str | Callable[[str], str] = ""  # the code, or the code each service uses (given the service name)
    message: str = ""
    status: int | Callable[[str], int] = 400
    attempts: int | None = None  # fault the first N attempts of each call; None: every attempt
    account: str | None = None  # only calls made with credentials of this account
    when: Callable[[Parameters], bool] | None = None  # only requests whose parameters match
    answer: Callable[[Parameters], Answer | None] | None = None  # computes the response; None passes to moto
    raises: Exception | None = None  # no response at all: the connection fails with this botocore error
    hits: list[tuple[str, int, Parameters]] = field(default_factory=list)  # (operation, attempt, parameters)

    def matches(self, operation: str, account: str, parameters: Parameters, attempt: int) -> bool:
        if self.operation not in ("*", operation):
            return False
        if self.account is not None and account != self.account:
            return False
        if self.attempts is not None and attempt > self.attempts:
            return False
        return self.when is None or self.when(parameters)

    def error(self, operation: str) -> Answer:
        service = operation.split(".")[0]
        code = self.code(service) if callable(self.code) else self.code
        status = self.status(service) if callable(self.status) else self.status
        return status, {"Error": {"Code": code, "Message": self.message}}

    @property
    def calls(self) -> list[Parameters]:
        """Parameters of each distinct call this fault answered (its first attempt)."""
        return [parameters for _, attempt, parameters in self.hits if attempt == 1]


class AwsFaults:
    """Faults injected on one boto3 session, in front of moto. Register before the session makes clients."""

    def __init__(self, session: boto3.Session, producer_account: str) -> None:
        self.producer_account = producer_account
        self.faults: list[Fault] = []
        self.attempts: list[tuple[str, int]] = []  # every attempt sent: (operation, attempt number)
        self._accounts: dict[str, str] = {}  # access key id -> account, learnt from AssumeRole
        session.events.unregister("before-send", botocore_stubber)
        session.events.register("before-send", self._send)
        session.events.register("before-call.sts.AssumeRole", self._remember_role)
        session.events.register("after-call.sts.AssumeRole", self._learn_account)

    # --- what a test declares -----------------------------------------------------------------------------

    def fail(
        self,
        operation: str,
        code: str | Callable[[str], str],
        message: str,
        *,
        status: int | Callable[[str], int] = 400,
        attempts: int | None = None,
        account: str | None = None,
        when: Callable[[Parameters], bool] | None = None,
    ) -> Fault:
        """Answer matching attempts with AWS's error `code` and `message`."""
        fault = Fault(operation, code, message, status, attempts, account, when)
        self.faults.append(fault)
        return fault

    def throttle(self, operation: str = "*", *, attempts: int | None = 2, **match: Any) -> Fault:
        """Throttle matching calls, as each service words it."""
        return self.fail(operation, throttling_code, "Rate exceeded", attempts=attempts, **match)

    def deny(self, operation: str, message: str, *, account: str | None = None, **match: Any) -> Fault:
        """Refuse matching calls with the service's access-denied error (STS: 403 AccessDenied)."""
        return self.fail(operation, access_denied_code, message, status=_denied_status, account=account, **match)

    def answer(self, operation: str, answer: Callable[[Parameters], Answer | None]) -> Fault:
        """Answer an operation moto does not implement (or override moto): `answer(parameters)` gives
        (status, body), or None to pass the call on."""
        fault = Fault(operation, answer=answer)
        self.faults.append(fault)
        return fault

    def unreachable(self, operation: str) -> Fault:
        """No endpoint answers: every attempt fails to connect (a region without the service, no network path)."""
        fault = Fault(operation, raises=EndpointConnectionError(endpoint_url=f"https://{operation.split('.')[0]}"))
        self.faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        self.faults.remove(fault)

    def clear(self) -> None:
        self.faults.clear()

    # --- botocore event handlers ----------------------------------------------------------------------------

    def _send(self, request: AWSPreparedRequest, event_name: str, **kwargs: Any) -> AWSResponse | None:
        operation = _operation(event_name)
        attempt = _attempt(request)
        self.attempts.append((operation, attempt))
        parameters = _parameters(request)
        account = self._account(request)
        for fault in list(self.faults):
            if not fault.matches(operation, account, parameters, attempt):
                continue
            answered = fault.answer(parameters) if fault.answer else fault.error(operation)
            if answered is None:
                continue
            fault.hits.append((operation, attempt, parameters))
            if fault.raises is not None:
                raise fault.raises
            status, body = answered
            return aws_response(request, status, body)
        return botocore_stubber(request=request, event_name=event_name, **kwargs)

    def _remember_role(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["assumed_role_arn"] = params["body"]["RoleArn"]

    def _learn_account(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "Credentials" in parsed:
            self._accounts[parsed["Credentials"]["AccessKeyId"]] = context["assumed_role_arn"].split(":")[4]

    def _account(self, request: AWSPreparedRequest) -> str:
        authorization = _text(request.headers.get("Authorization", b""))
        found = re.search(r"Credential=([^/]+)/", authorization)
        return self._accounts.get(found.group(1), self.producer_account) if found else self.producer_account

    # --- what a test checks -----------------------------------------------------------------------------------

    def attempts_of(self, operation: str) -> list[int]:
        """Attempt numbers sent for an operation, in order (1, 2, 3 for one call retried twice)."""
        return [attempt for name, attempt in self.attempts if name == operation]


def _operation(event_name: str) -> str:
    # "before-send.secrets-manager.PutResourcePolicy" -> "secretsmanager.PutResourcePolicy"
    _, service_id, name = event_name.split(".", 2)
    return f"{service_id.replace('-', '')}.{name}"


def _attempt(request: AWSPreparedRequest) -> int:
    # botocore numbers every attempt of a call in this header (`attempt=2; max=7`).
    found = re.match(r"attempt=(\d+)", _text(request.headers.get("amz-sdk-request", b"attempt=1")))
    return int(found.group(1)) if found else 1


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _is_json(request: AWSPreparedRequest) -> bool:
    # JSON services (KMS, Secrets Manager, SSM) and REST-JSON ones (Access Analyzer); STS speaks form and XML.
    return _text(request.headers.get("Content-Type", b"")).startswith(("application/x-amz-json", "application/json"))


def _parameters(request: AWSPreparedRequest) -> Parameters:
    """The request's parameters: JSON services send a JSON body, STS a form-encoded one."""
    body = request.body or b""
    text = body.decode() if isinstance(body, bytes) else str(body)
    if _is_json(request):
        return json.loads(text or "{}")
    return {key: values[0] for key, values in parse_qs(text).items()}


def aws_response(request: AWSPreparedRequest, status: int, body: dict[str, Any]) -> AWSResponse:
    """An HTTP response as the service would send it: JSON with `__type` for JSON services, XML for STS."""
    headers = {"x-amzn-RequestId": "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE"}
    if _is_json(request):
        headers["Content-Type"] = "application/x-amz-json-1.1"
        if status >= 300:
            error = body["Error"]
            content = json.dumps({"__type": error["Code"], "message": error["Message"]}).encode()
        else:
            content = json.dumps(body).encode()
    else:
        headers["Content-Type"] = "text/xml"
        error = body["Error"]
        kind = "Receiver" if status >= 500 else "Sender"
        content = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>{kind}</Type><Code>{error['Code']}</Code><Message>{_xml(error['Message'])}</Message>"
            "</Error><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ErrorResponse>"
        ).encode()
    return AWSResponse(request.url, status, headers, _Body(content))


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class VirtualClock:
    """Time for botocore: sleeps are recorded and advance it; every reading moves it a minute on."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self) -> float:
        self.now += 60.0
        return self.now

    def current_time(self) -> float:
        return self.time()
