"""One request on its way from botocore to moto, as the strict layer reads it, and the errors it answers with.

The request is read from what botocore signed and serialized (the `before-send` event): the service and operation from
the event's name, the caller's access key and region from the SigV4 credential scope, the parameters from the body
(JSON services), the form (STS) or the path and query (EventBridge Scheduler's REST API). An error is answered the way
the service sends it on the wire, so botocore parses it into the exception the real service produces.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import MockRawResponse

Parameters = dict[str, Any]
# moto's answer: HTTP status, headers, body.
Answer = tuple[int, dict[str, str], bytes | str]

_CREDENTIAL = re.compile(r"Credential=([^/]+)/[0-9]{8}/([^/]+)/")


@dataclass(frozen=True)
class AwsRequest:
    """A request as AWS receives it: who sends it (access key), where (region), what (service, operation), with what."""

    service: str  # botocore's service name: "kms", "secretsmanager", "resourcegroupstaggingapi", ...
    operation: str  # "PutKeyPolicy"
    region: str
    access_key: str
    parameters: Parameters
    http: AWSPreparedRequest

    @property
    def name(self) -> str:
        """`kms.PutKeyPolicy`."""
        return f"{self.service}.{self.operation}"


def read_request(event_name: str, request: AWSPreparedRequest) -> AwsRequest:
    """The request botocore is about to send (`event_name`: `before-send.<service id>.<Operation>`)."""
    _, service_id, operation = event_name.split(".", 2)
    service = service_id.replace("-", "")
    found = _CREDENTIAL.search(_text(request.headers.get("Authorization", b"")))
    access_key, region = (found.group(1), found.group(2)) if found else ("", "")
    return AwsRequest(service, operation, region, access_key, _parameters(service, request), request)


def _parameters(service: str, request: AWSPreparedRequest) -> Parameters:
    body = request.body or b""
    text = body.decode() if isinstance(body, bytes) else str(body)
    url = urlsplit(request.url)
    if service == "scheduler":
        # REST: /schedules/{Name}, ?groupName=... on GET and DELETE, the rest in the JSON body.
        parameters: Parameters = json.loads(text) if text.strip() else {}
        path = url.path.split("/")
        if len(path) >= 3 and path[1] == "schedules":
            parameters["Name"] = unquote(path[2])
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if "groupName" in query:
            parameters.setdefault("GroupName", query["groupName"])
        return parameters
    content_type = _text(request.headers.get("Content-Type", b""))
    if content_type.startswith(("application/x-amz-json", "application/json")):
        return json.loads(text or "{}")
    return {key: values[0] for key, values in parse_qs(text).items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def response(request: AwsRequest, answer: Answer) -> AWSResponse:
    """moto's answer as botocore receives it."""
    status, headers, body = answer
    return AWSResponse(request.http.url, status, headers, MockRawResponse(body))  # type: ignore[arg-type]


_XML_NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "cloudformation": "http://cloudformation.amazonaws.com/doc/2010-05-15/",
}


def error(request: AwsRequest, status: int, code: str, message: str) -> AWSResponse:
    """An error as the service sends it: JSON with `__type` (SQS's query-compatible JSON adds its code in the
    `x-amzn-query-error` header), XML for the query services (STS, CloudFormation)."""
    headers = {"x-amzn-RequestId": "3f1c0a62-1b7e-4c55-9b1a-strict0000001"}
    if request.service in _XML_NAMESPACES:
        headers["Content-Type"] = "text/xml"
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="{_XML_NAMESPACES[request.service]}">'
            f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
            "<RequestId>3f1c0a62-1b7e-4c55-9b1a-strict0000001</RequestId></ErrorResponse>"
        )
        return response(request, (status, headers, body))
    headers["Content-Type"] = "application/x-amz-json-1.1"
    if request.service == "sqs":
        # SQS answers JSON but keeps its query-era codes in this header (docs/aws-facts.md §17).
        headers["x-amzn-query-error"] = f"{code};Sender"
        wire = {"__type": f"com.amazon.coral.service#{code}Exception", "message": message}
    else:
        wire = {"__type": code, "message": message}
    return response(request, (status, headers, json.dumps(wire)))


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
