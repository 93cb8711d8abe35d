"""Names secretshare writes: reversible, valid for KMS aliases and SSM parameters, never colliding."""

import re

from hypothesis import given
from hypothesis import strategies as st

from secretshare.domain.names import decode_name, encode_name, key_alias, key_grant_sid, parameter_name

# Secrets Manager secret names: ASCII letters, digits and /_+=.@-
secret_names = st.text(alphabet=st.sampled_from("abcXYZ019/_+=.@-"), min_size=1, max_size=512)
ALIAS_CHARACTERS = re.compile(r"alias/[A-Za-z0-9/_-]+")
PARAMETER_CHARACTERS = re.compile(r"[A-Za-z0-9_./-]+")


@given(secret_names)
def test_encoding_round_trips_and_uses_only_characters_aliases_and_parameters_allow(name):
    encoded = encode_name(name)
    assert decode_name(encoded) == name
    assert re.fullmatch(r"[A-Za-z0-9/_-]+", encoded)
    assert "//" not in encoded and not encoded.startswith("/") and not encoded.endswith("/")


@given(secret_names, secret_names)
def test_different_secret_names_never_share_a_parameter_or_alias(first, second):
    if first != second:
        assert parameter_name("/secretshare", "1" * 12, "eu-west-1", first) != parameter_name(
            "/secretshare", "1" * 12, "eu-west-1", second
        )
        assert key_alias(first) != key_alias(second)


def test_special_characters_are_escaped_as_hex():
    assert encode_name("app/db+x=1@corp.io_v2") == "app/db_2Bx_3D1_40corp_2Eio_5Fv2"
    assert (
        parameter_name("/secretshare/", "111111111111", "eu-west-1", "a+b")
        == "/secretshare/111111111111/eu-west-1/a_2Bb"
    )


def test_long_names_get_a_hashed_alias_within_the_kms_limit():
    alias = key_alias("x" * 300)
    assert len(alias) <= 256 and ALIAS_CHARACTERS.fullmatch(alias)
    assert key_alias("x" * 300) != key_alias("x" * 299 + "y")


def test_key_grant_sid_is_alphanumeric_and_specific_to_the_consumer_set():
    sid = key_grant_sid(["arn:aws:iam::222222222222:root"])
    assert re.fullmatch(r"SecretShareDecrypt[0-9a-f]{20}", sid)
    assert sid != key_grant_sid(["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"])
    assert key_grant_sid(["b", "a"]) == key_grant_sid(["a", "b"])


def test_leading_trailing_and_doubled_slashes_never_make_an_empty_parameter_level():
    assert (
        parameter_name("/secretshare", "1" * 12, "eu-west-1", "/prod/db")
        == "/secretshare/111111111111/eu-west-1/_2Fprod/db"
    )
    assert encode_name("a//b/") == "a_2F_2Fb_2F"
    assert decode_name("a_2F_2Fb_2F") == "a//b/"


def test_deep_secret_names_stay_within_the_fifteen_levels_ssm_allows():
    name = "/".join(f"l{i}" for i in range(20))
    parameter = parameter_name("/secretshare", "1" * 12, "eu-west-1", name)
    assert parameter.count("/") == 15
    assert decode_name(parameter.split("/", 4)[4]) == name


def test_a_parameter_name_fits_ssm_s_limit_counted_with_its_arn_and_stays_distinct():
    # A legal secret name: 512 characters; '+' and '@' encode to three characters each.
    long_name = "team/" + "+@" * 253 + "x"
    other = "team/" + "+@" * 253 + "y"
    for region, partition in [("eu-west-1", "aws"), ("ap-southeast-3", "aws"), ("cn-northwest-1", "aws-cn")]:
        name = parameter_name("/secretshare", "1" * 12, region, long_name, partition)
        arn = f"arn:{partition}:ssm:{region}:{'2' * 12}:parameter{name}"
        assert len(arn) <= 1011, len(arn)
        assert "//" not in name and not name.endswith("/")
        assert name != parameter_name("/secretshare", "1" * 12, region, other, partition)
        assert parameter_name("/secretshare", "1" * 12, region, long_name, partition) == name  # stable


def test_a_short_parameter_name_is_not_capped():
    assert (
        parameter_name("/secretshare", "1" * 12, "eu-west-1", "app/db") == "/secretshare/111111111111/eu-west-1/app/db"
    )
