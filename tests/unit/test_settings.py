"""Configuration from the environment: defaults written once, bad values named."""

import pytest

from secretshare.domain.errors import ConfigurationError
from secretshare.domain.settings import AllowList, Settings


def test_defaults_match_the_design():
    settings = Settings.from_env({})
    assert settings.share_tag_key == "share-with"
    assert settings.consumer_role_name == "secretshare-publisher"
    assert settings.parameter_prefix == "/secretshare"
    assert settings.allowed_consumers == AllowList("organization")
    assert settings.shared_key_arn == ""
    assert settings.consumer_role_arn("aws", "222222222222") == "arn:aws:iam::222222222222:role/secretshare-publisher"


def test_allow_list_of_account_ids_accepts_spaces_and_commas():
    assert AllowList.parse("222222222222, 333333333333").accounts == {"222222222222", "333333333333"}
    assert AllowList.parse("any") == AllowList("any")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"ALLOWED_CONSUMERS": "2222 333333333333"}, "'2222' is neither"),
        ({"ALLOWED_CONSUMERS": "everyone"}, "expected 'organization', 'any', or 12-digit account ids and organization"),
        ({"ALLOWED_CONSUMERS": "Organization"}, "did you mean 'organization'"),
        ({"ALLOWED_CONSUMERS": "2222-2222-2222"}, "without dashes: '222222222222'"),
        ({"ALLOWED_CONSUMERS": "o-short"}, "'o-short' is neither"),
        ({"SHARED_KEY_ARN": "alias/shared"}, "SHARED_KEY_ARN='alias/shared' is not a KMS key ARN"),
        (
            {"SHARED_KEY_ARN": "arn:aws:kms:eu-west-1:111111111111:alias/shared"},
            "is not a KMS key ARN \\(arn:aws:kms:<region>:<account>:key/<id>\\)",
        ),
        ({"PARAMETER_PREFIX": "secretshare"}, "PARAMETER_PREFIX='secretshare' must start with '/'"),
        ({"PARAMETER_PREFIX": "/secretshare/"}, "without a trailing '/'"),
        ({"PARAMETER_PREFIX": "/team secrets"}, "is not a parameter path"),
        ({"PARAMETER_PREFIX": "/aws/secretshare"}, "reserved by AWS"),
        ({"CONSUMER_ROLE_NAME": ""}, "CONSUMER_ROLE_NAME is empty"),
        ({"CONSUMER_ROLE_NAME": "   "}, "CONSUMER_ROLE_NAME is empty"),
        ({"CONSUMER_ROLE_NAME": "secretshare publisher"}, "contains ' ' \\(U\\+0020\\); IAM role names hold only"),
        ({"CONSUMER_ROLE_NAME": "r" * 65}, "is 65 characters long; IAM role names have at most 64"),
        (
            {"CONSUMER_ROLE_NAME": "arn:aws:iam::222222222222:role/secretshare-publisher"},
            "is an ARN or a path: give the role's name alone \\(like 'secretshare-publisher'\\)",
        ),
        ({"CONSUMER_ROLE_NAME": "team/publisher"}, "is an ARN or a path"),
        ({"CONSUMER_ROLE_NAME": "publisher*"}, "contains '\\*'"),
        ({"SHARE_TAG_KEY": "aws:share"}, "starts with 'aws:'"),
        ({"SHARE_TAG_KEY": "share*with"}, "SHARE_TAG_KEY='share\\*with' contains '\\*'"),
        ({"SHARE_TAG_KEY": "k" * 125}, "at most 121 \\(the status tag adds '-status' to it\\)"),
        ({"SHARE_UNTIL_TAG_KEY": "share-with/until"}, "collides with SHARE_TAG_KEY='share-with'"),
        ({"SHARE_UNTIL_TAG_KEY": "share-with-status"}, "collides with SHARE_TAG_KEY"),
        ({"QUEUE_URL": "reconcile.fifo"}, "QUEUE_URL='reconcile.fifo' is not a queue URL"),
        ({"QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/111111111111/reconcile"}, "is not a FIFO queue"),
        ({"SWEEP_QUEUE_URL": "sqs://sweep"}, "SWEEP_QUEUE_URL='sqs://sweep' is not a queue URL"),
        ({"QUEUE_ARN": "arn:aws:sns:eu-west-1:111111111111:t"}, "QUEUE_ARN=.* is not an SQS queue ARN"),
        ({"EXPIRY_SCHEDULE_ROLE_ARN": "secretshare-scheduler"}, "is not an IAM role ARN"),
        ({"EXPIRY_SCHEDULE_GROUP": "my group"}, "is not a Scheduler group name"),
    ],
)
def test_bad_values_are_rejected_naming_the_variable_and_value(variables, message):
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(variables)


def test_good_values_are_kept_as_given():
    settings = Settings.from_env(
        {
            "CONSUMER_ROLE_NAME": " team+publisher=1,a.b@c_d-e ",
            "PARAMETER_PREFIX": "/org/secret_share.v2",
            "SHARE_TAG_KEY": "team:share with",
            "SHARE_UNTIL_TAG_KEY": "team:share until",
            "SHARED_KEY_ARN": "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/111111111111/secretshare-reconcile.fifo",
            "QUEUE_ARN": "arn:aws:sqs:eu-west-1:111111111111:secretshare-reconcile.fifo",
            "EXPIRY_SCHEDULE_ROLE_ARN": "arn:aws:iam::111111111111:role/service-role/secretshare-scheduler",
            "EXPIRY_SCHEDULE_GROUP": "secretshare-expiry",
        }
    )
    assert settings.consumer_role_name == "team+publisher=1,a.b@c_d-e"
    assert settings.parameter_prefix == "/org/secret_share.v2"
    assert settings.status_tag_key == "team:share with-status"
    assert settings.schedules_expiry
