#!/usr/bin/env python3
"""Writes an evidence file (trailseal.evidence/v1) of one account with N trails for the fix
benchmark (bench/fix-plan.sh): a quarter healthy, a quarter unencrypted, a quarter on a key
with the AWS default key policy (TS006 fails: a merge; 20 trails share each such key), a
quarter on a key in the wrong Region (a new key). Buckets in us-east-1 and eu-west-1.

    python3 bench/gen-evidence.py OUT.json --trails 500
"""
import argparse
import json

ACCOUNT = "111122223333"


def key(arn, region, policy):
    return {"arn": arn, "key_id": arn.rsplit("/", 1)[1], "region": region, "state": "Enabled",
            "manager": "CUSTOMER", "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT",
            "multi_region": False, "policy": json.dumps(policy), "rotation_enabled": True}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--trails", type=int, default=500)
    args = ap.parse_args()
    root = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    trails, keys, refs = [], [], []
    for i in range(args.trails):
        region = "us-east-1" if i % 2 == 0 else "eu-west-1"
        bucket = f"logs-{region}"
        name = f"trail-{i:04d}"
        arn = f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{name}"
        kind = i % 4
        key_arn = None
        if kind == 0:  # healthy: its own key with CloudTrail's statements
            key_arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/good-{i:04d}"
            keys.append(key(key_arn, region, {"Version": "2012-10-17", "Statement": [root,
                {"Sid": "CT", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                 "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*",
                 "Condition": {"StringEquals": {"aws:SourceArn": arn}}},
                {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/LogReaders"},
                 "Action": "kms:Decrypt", "Resource": "*"}]}))
        elif kind == 2:  # the AWS default key policy, shared by 20 trails
            key_arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/default-{region}-{i // 40:03d}"
            if not any(k["arn"] == key_arn for k in keys):
                keys.append(key(key_arn, region, {"Version": "2012-10-17", "Statement": [root]}))
        elif kind == 3:  # a key in the wrong Region
            other = "us-west-2"
            key_arn = f"arn:aws:kms:{other}:{ACCOUNT}:key/west-{i:04d}"
            keys.append(key(key_arn, other, {"Version": "2012-10-17", "Statement": [root]}))
        if key_arn:
            refs.append({"region": key_arn.split(":")[3], "reference": key_arn, "key_arn": key_arn})
        trails.append({"arn": arn, "name": name, "home_region": region, "account": ACCOUNT,
                       "s3_bucket_name": bucket, "kms_key_id": key_arn, "is_multi_region": False,
                       "is_organization_trail": False, "log_file_validation_enabled": i % 3 != 0,
                       "status": {"is_logging": True}})
    evidence = {"schema": "trailseal.evidence/v1", "tool": {"name": "trailseal", "version": "bench"},
                "collected_at": "2026-11-30T00:00:00Z",
                "accounts": [{"account": ACCOUNT, "partition": "aws",
                              "regions": [{"region": r} for r in ("us-east-1", "eu-west-1", "us-west-2")],
                              "trails": trails, "key_refs": refs, "keys": keys,
                              "buckets": [{"name": "logs-us-east-1", "region": "us-east-1"},
                                          {"name": "logs-eu-west-1", "region": "eu-west-1"}],
                              "event_data_stores": []}]}
    with open(args.out, "w") as f:
        json.dump(evidence, f)


if __name__ == "__main__":
    main()
