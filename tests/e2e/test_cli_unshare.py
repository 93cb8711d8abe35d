"""`secretshare unshare`: a share ends in one command, every grant and parameter revoked, the share tags removed so the
functions do not grant it again; statements secretshare did not write stay; on request the secret goes back to the
AWS managed key and the key secretshare made for it is scheduled for deletion."""

import json

from commandline import shared_secret

from secretshare_cli.cli import EXIT_OK, EXIT_USAGE


def tags(aws, arn):
    return {tag["Key"]: tag["Value"] for tag in aws.client("secretsmanager").describe_secret(SecretId=arn)["Tags"]}


def resource_statements(aws, arn):
    text = aws.client("secretsmanager").get_resource_policy(SecretId=arn).get("ResourcePolicy")
    return json.loads(text)["Statement"] if text else []


def test_unshare_removes_the_share_tags_and_revokes_every_grant_keeping_foreign_statements(aws, run):
    arn = shared_secret(aws, "222222222222 333333333333")
    secrets = aws.client("secretsmanager")
    secrets.tag_resource(SecretId=arn, Tags=[{"Key": "share-until", "Value": "2099-01-01"}])
    run("reconcile", arn)
    foreign = {"Sid": "AuditorRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444444444444:root"}}
    foreign |= {"Action": "secretsmanager:DescribeSecret", "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [*resource_statements(aws, arn), foreign]}
    secrets.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(policy))

    dry = run("unshare", "team/api-key", "--dry-run")
    assert dry.exit_code == EXIT_OK, dry.stderr
    assert dry.stdout == (
        "team/api-key: would remove tags share-with, share-until; would revoke arn:aws:iam::222222222222:root, "
        "arn:aws:iam::333333333333:root\n"
    )
    assert "share-with" in tags(aws, arn)

    outcome = run("unshare", "team/api-key")

    assert outcome.exit_code == EXIT_OK, outcome.stderr
    assert outcome.stdout.startswith("team/api-key: remove tags share-with, share-until; revoke ")
    assert set(tags(aws, arn)) == set()  # the status tag went with the last grant
    assert resource_statements(aws, arn) == [foreign]
    key_id = secrets.describe_secret(SecretId=arn)["KmsKeyId"]
    key_policy = json.loads(aws.client("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert "222222222222" not in json.dumps(key_policy) and "333333333333" not in json.dumps(key_policy)
    assert run("status", "--json").stdout.count('"secret":') == 0  # nothing of it left to show


def test_unshare_restore_key_moves_the_secret_back_and_schedules_its_keys_deletion(aws, run, monkeypatch):
    monkeypatch.setenv("KEY_MODE", "dedicated")
    arn = shared_secret(aws, "222222222222")
    run("reconcile", arn)
    secrets, kms = aws.client("secretsmanager"), aws.client("kms")
    key_id = secrets.describe_secret(SecretId=arn)["KmsKeyId"]

    outcome = run("unshare", arn, "--restore-key")

    assert outcome.exit_code == EXIT_OK, outcome.stderr
    assert "move to the AWS managed key and delete key arn:aws:kms:" in outcome.stdout
    assert secrets.describe_secret(SecretId=arn).get("KmsKeyId") in (None, "alias/aws/secretsmanager")
    assert secrets.get_secret_value(SecretId=arn)["SecretString"] == "v"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert "alias/secretshare/team/api-key" not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}


def test_unshare_restore_key_moves_a_pooled_secret_back_and_leaves_the_pool_key_to_the_others(aws, run):
    leaving = shared_secret(aws, "222222222222", name="app/leaving")
    staying = shared_secret(aws, "333333333333", name="app/staying")
    run("reconcile", leaving)
    run("reconcile", staying)
    secrets, kms = aws.client("secretsmanager"), aws.client("kms")
    pool_key = secrets.describe_secret(SecretId=leaving)["KmsKeyId"]
    assert secrets.describe_secret(SecretId=staying)["KmsKeyId"] == pool_key

    outcome = run("unshare", leaving, "--restore-key")

    assert outcome.exit_code == EXIT_OK, outcome.stderr
    assert f"move to the AWS managed key; pool key {pool_key} stays for the secrets it encrypts" in outcome.stdout
    assert secrets.describe_secret(SecretId=leaving).get("KmsKeyId") in (None, "alias/aws/secretsmanager")
    assert secrets.get_secret_value(SecretId=leaving)["SecretString"] == "v"
    assert kms.describe_key(KeyId=pool_key)["KeyMetadata"]["KeyState"] == "Enabled"
    policy = kms.get_key_policy(KeyId=pool_key, PolicyName="default")["Policy"]
    assert leaving not in policy and staying in policy
    assert "333333333333" in policy and "222222222222" not in policy


def test_unshare_leaves_a_key_secretshare_did_not_make(aws, run):
    kms, secrets = aws.client("kms"), aws.client("secretsmanager")
    team_key = kms.create_key(Description="team key")["KeyMetadata"]["Arn"]
    arn = secrets.create_secret(
        Name="team/own-key", SecretString="v", KmsKeyId=team_key, Tags=[{"Key": "share-with", "Value": "222222222222"}]
    )["ARN"]
    run("reconcile", arn)

    outcome = run("unshare", arn, "--restore-key")

    assert outcome.exit_code == EXIT_OK, outcome.stderr
    assert f"key {team_key} is not one secretshare made for this secret: it stays" in outcome.stdout
    assert kms.describe_key(KeyId=team_key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_unshare_all_ends_every_share(aws, run):
    arns = [shared_secret(aws, "222222222222", name=f"app/s{i}") for i in range(3)]
    for arn in arns:
        run("reconcile", arn)

    outcome = run("unshare", "--all")

    assert outcome.exit_code == EXIT_OK, outcome.stderr
    assert len(outcome.stdout.splitlines()) == 3
    assert all("share-with" not in tags(aws, arn) for arn in arns)
    assert json.loads(run("status", "--json").stdout)["checked"] == 0


def test_unshare_needs_one_secret_or_all(aws, run):
    for arguments in ([], ["team/api-key", "--all"]):
        outcome = run("unshare", *arguments)
        assert outcome.exit_code == EXIT_USAGE
        assert outcome.error_lines == ["Error: name one SECRET, or --all; hint: secretshare unshare -h"]
