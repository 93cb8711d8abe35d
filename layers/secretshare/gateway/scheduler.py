"""EventBridge Scheduler in account A: the one-off schedules that end time-boxed shares."""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from ..domain.events import MESSAGE_GROUP_ID
from .base import Service, calls, error_code

# EventBridge Scheduler's one-off expression: at(yyyy-mm-ddThh:mm:ss), read in ScheduleExpressionTimezone.
_AT_FORMAT = "at(%Y-%m-%dT%H:%M:%S)"


class Scheduler(Service):
    """The expiry schedules, in the settings' schedule group, sending to the reconcile queue."""

    name = "scheduler"

    @calls("scheduler:GetSchedule")
    def expiry_schedule(self, name: str, region: str) -> datetime | None:
        """When the one-off schedule `name` fires (UTC), or None when there is no such schedule."""
        try:
            found = self._client(region).get_schedule(Name=name, GroupName=self.settings.expiry_schedule_group)
        except ClientError as err:
            if error_code(err) == "ResourceNotFoundException":
                return None
            raise
        try:
            return datetime.strptime(found["ScheduleExpression"], _AT_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return None  # not a one-off schedule of ours: rewriting it puts it right

    @calls("scheduler:CreateSchedule", "scheduler:UpdateSchedule")
    def put_expiry_schedule(self, name: str, at: datetime, message: str, region: str) -> None:
        """Create or move the one-off schedule that sends `message` to the reconcile queue at `at` (UTC).

        Scheduler deletes it once it has fired; a message sent a little late only delays the revocation
        until it arrives, and the sweep enforces the expiry as well.
        """
        settings = self.settings
        arguments = {
            "Name": name,
            "GroupName": settings.expiry_schedule_group,
            "ScheduleExpression": at.astimezone(UTC).strftime(_AT_FORMAT),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "Description": "secretshare: revoke a time-boxed share when it expires",
            "Target": {
                "Arn": settings.queue_arn,
                "RoleArn": settings.expiry_schedule_role_arn,
                "Input": message,
                "SqsParameters": {"MessageGroupId": MESSAGE_GROUP_ID},
            },
        }
        client = self._client(region)
        try:
            client.create_schedule(**arguments)
        except ClientError as err:
            if error_code(err) != "ConflictException":
                raise
            client.update_schedule(**arguments)

    @calls("scheduler:DeleteSchedule")
    def delete_expiry_schedule(self, name: str, region: str) -> None:
        """Delete the one-off schedule; one already gone (it fired) is fine."""
        try:
            self._client(region).delete_schedule(Name=name, GroupName=self.settings.expiry_schedule_group)
        except ClientError as err:
            if error_code(err) != "ResourceNotFoundException":
                raise
