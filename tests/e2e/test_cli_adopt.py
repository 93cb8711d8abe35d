"""`secretshare adopt`: a secret shared by hand is taken over in one command, dry run first; what it cannot express
is listed and left as it is. (Who can read, before and after, is judged by the evaluator in
tests/access/test_adopt_round_trip.py.)"""

import json

from secretshare_cli.cli import EXIT_OK, EXIT_USAGE


def hand_shared(aws) -> str:
    secrets, kms = aws.client("secretsmanager"), aws.client("kms")
    key = kms.create_key(Description="team key")["KeyMetadata"]["Arn"]
    arn = secrets.create_secret(Name="app/hand", SecretString="v", KmsKeyId=key)["ARN"]
    grant = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Resource": "*"}
    resource_policy = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "HandShare", **grant, "Action": "secretsmanager:GetSecretValue"}],
    }
    secrets.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(resource_policy))
    key_policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    key_policy["Statement"].append({"Sid": "TeamWide", **grant, "Action": "kms:Decrypt"})
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(key_policy))
    return arn


def test_adopt_prints_what_it_would_do_then_does_it(aws, run):
    arn = hand_shared(aws)

    dry = run("adopt", "app/hand")
    applied = run("adopt", "app/hand", "--apply")

    assert dry.exit_code == EXIT_OK, dry.stderr
    assert dry.stdout.splitlines() == [
        "app/hand: would tag share-with='222222222222'",
        "  would take over: resource policy HandShare",
        "  left as it is: key policy TeamWide: it lets its principals decrypt other secrets on the key, not this one "
        "alone",
    ]
    assert applied.exit_code == EXIT_OK, applied.stderr
    assert applied.stdout.splitlines()[0] == "app/hand: tagged share-with='222222222222'; status: ok 1 consumer"
    tags = aws.client("secretsmanager").describe_secret(SecretId=arn)["Tags"]
    assert {"Key": "share-with", "Value": "222222222222"} in tags
    again = run("adopt", "app/hand")
    assert again.stdout.splitlines()[0] == (
        "app/hand: nothing to adopt: no hand-written grant lets a principal of another account read it"
    )


def test_adopt_of_a_secret_that_does_not_exist_is_a_usage_error(aws, run):
    outcome = run("adopt", "app/nope")
    assert outcome.exit_code == EXIT_USAGE
    assert outcome.error_lines[0].startswith("Error: no secret 'app/nope' in account 123456789012, region eu-west-1")
