"""Policy statements tests put in A's policies as a person would: the key admin, and others' statements that
secretshare must keep exactly as they are."""

from support.world import PRODUCER

# The default key-policy statement: A's IAM administers the key.
ADMIN = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{PRODUCER}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
# A key-policy statement of another team.
AUDITORS = {
    "Sid": "Auditors",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::555555555555:role/audit"},
    "Action": "kms:DescribeKey",
    "Resource": "*",
}
# A resource-policy statement of another team.
BACKUPS = {
    "Sid": "BackupReads",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::555555555555:role/backup"},
    "Action": "secretsmanager:GetSecretValue",
    "Resource": "*",
}
