"""Configuration from the environment: defaults written once, bad values named."""

import pytest

from secretshare.errors import ConfigurationError
from secretshare.settings import AllowList, Settings


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
        ({"ALLOWED_CONSUMERS": "2222 333333333333"}, "'2222' is not an account id"),
        ({"ALLOWED_CONSUMERS": "everyone"}, "expected 'organization', 'any' or 12-digit account ids"),
        ({"SHARED_KEY_ARN": "alias/shared"}, "SHARED_KEY_ARN='alias/shared' is not a KMS key ARN"),
        ({"PARAMETER_PREFIX": "secretshare"}, "PARAMETER_PREFIX='secretshare' must start with '/'"),
    ],
)
def test_bad_values_are_rejected_naming_the_variable_and_value(variables, message):
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(variables)
