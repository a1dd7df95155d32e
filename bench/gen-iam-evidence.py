#!/usr/bin/env python3
"""Writes an evidence file (trailseal.evidence/v1) of one account with one encrypted trail and
a large IAM estate, for the readers benchmark (bench/readers.sh): ROLES roles and USERS users,
POLICIES customer managed policies (each role: three attached and one inline policy; a fifth of
the roles with a permissions boundary; users in 20 groups), with the kinds of statements real
accounts have: broad read-only, service admin, S3 on named buckets, KMS decrypt with conditions,
Denies on the log bucket. Key policy: the default delegation to the account plus CloudTrail's
statements; bucket policy: CloudTrail's statements and a Deny of insecure transport.

    python3 bench/gen-iam-evidence.py OUT.json --roles 5000 --policies 2000
"""
import argparse
import json
import random

ACCOUNT = "111122223333"
BUCKET = "org-cloudtrail-logs"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"


def doc(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def policy_statements(i, rng):
    kind = i % 6
    if kind == 0:  # broad read-only
        return [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "ec2:Describe*", "iam:Get*"],
                 "Resource": "*"}]
    if kind == 1:  # service admin
        svc = rng.choice(["ec2", "rds", "lambda", "dynamodb", "sqs", "sns"])
        return [{"Effect": "Allow", "Action": f"{svc}:*", "Resource": "*"}]
    if kind == 2:  # S3 on named buckets
        return [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                 "Resource": [f"arn:aws:s3:::app-{i}-data/*", f"arn:aws:s3:::app-{i}-logs/*"]}]
    if kind == 3:  # KMS decrypt on some keys, with conditions
        return [{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                 "Resource": f"arn:aws:kms:*:{ACCOUNT}:key/*",
                 "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]
    if kind == 4:  # log readers
        return [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/*"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}]
    return [  # Denies on the log bucket
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["s3:DeleteObject", "s3:PutBucketPolicy"],
         "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]},
        {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--roles", type=int, default=5000)
    ap.add_argument("--users", type=int, default=500)
    ap.add_argument("--policies", type=int, default=2000)
    args = ap.parse_args()
    rng = random.Random(7)
    policies = [{"arn": f"arn:aws:iam::{ACCOUNT}:policy/p-{i:04d}", "name": f"p-{i:04d}",
                 "document": doc(policy_statements(i, rng))} for i in range(args.policies)]
    boundary = {"arn": f"arn:aws:iam::{ACCOUNT}:policy/boundary", "name": "boundary",
                "document": doc([{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}])}
    policies.append(boundary)
    pick = lambda: [policies[rng.randrange(args.policies)]["arn"] for _ in range(3)]
    roles = []
    for i in range(args.roles):
        role = {"arn": f"arn:aws:iam::{ACCOUNT}:role/team-{i % 50}/role-{i:05d}", "name": f"role-{i:05d}",
                "path": f"/team-{i % 50}/", "attached": pick(),
                "inline": [{"name": "inline", "document": doc(policy_statements(rng.randrange(6), rng))}]}
        if i % 5 == 0:
            role["permissions_boundary"] = boundary["arn"]
        # Most roles are assumed inside the account; some by a service; a few by a vendor's
        # account, under an external id.
        trust_principal = ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"} if i % 10 < 8 else
                           {"Service": "ec2.amazonaws.com"} if i % 10 == 8 else
                           {"AWS": "arn:aws:iam::999988887777:root"})
        statement = {"Effect": "Allow", "Principal": trust_principal, "Action": "sts:AssumeRole"}
        if i % 10 == 9:
            statement["Condition"] = {"StringEquals": {"sts:ExternalId": f"vendor-{i}"}}
        role["trust_policy"] = doc([statement])
        roles.append(role)
    groups = [{"arn": f"arn:aws:iam::{ACCOUNT}:group/g-{g}", "name": f"g-{g}", "attached": pick()}
              for g in range(20)]
    users = [{"arn": f"arn:aws:iam::{ACCOUNT}:user/u-{i:04d}", "name": f"u-{i:04d}", "path": "/",
              "groups": [f"g-{i % 20}"], "attached": pick()[:1]} for i in range(args.users)]
    key_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "CT", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"}]}
    bucket_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{BUCKET}"},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
        {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
    evidence = {
        "schema": "trailseal.evidence/v1",
        "tool": {"name": "gen-iam-evidence.py", "version": "0"},
        "collected_at": "2026-11-30T00:00:00Z",
        "accounts": [{
            "account": ACCOUNT, "partition": "aws",
            "regions": [{"region": "us-east-1"}],
            "trails": [{"arn": trail_arn, "name": "main", "home_region": "us-east-1", "account": ACCOUNT,
                        "s3_bucket_name": BUCKET, "s3_key_prefix": None, "kms_key_id": KEY,
                        "is_multi_region": False, "is_organization_trail": False,
                        "log_file_validation_enabled": True, "has_insight_selectors": False,
                        "status": {"is_logging": True}}],
            "key_refs": [{"region": "us-east-1", "reference": KEY, "key_arn": KEY}],
            "keys": [{"arn": KEY, "key_id": KEY.rsplit("/", 1)[1], "region": "us-east-1", "state": "Enabled",
                      "manager": "CUSTOMER", "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT",
                      "multi_region": False, "policy": json.dumps(key_policy), "rotation_enabled": True,
                      "grants": []}],
            "buckets": [{"name": BUCKET, "region": "us-east-1", "exists": True, "policy": json.dumps(bucket_policy)}],
            "iam": {"users": users, "roles": roles, "groups": groups, "policies": policies},
            "owned_buckets": [BUCKET],
        }],
    }
    with open(args.out, "w") as f:
        json.dump(evidence, f)


if __name__ == "__main__":
    main()
