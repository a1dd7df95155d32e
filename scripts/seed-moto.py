#!/usr/bin/env python3
"""Seeds a moto server with a demo AWS account for trailseal.

Scenarios
  broken  28 trails in 3 Regions (us-east-1, eu-west-1, ap-southeast-2), 13 of them broken in
          ways that tools checking only "KmsKeyId is set" miss: disabled key, key pending
          deletion, AWS-managed key, asymmetric key, key in the wrong Region, missing key and
          alias, key policies that do not let CloudTrail encrypt, explicit Denies. Plus shadow
          copies of multi-Region trails, alias / alias-ARN / bare-id references, a multi-Region
          key replica, and compliant trails with lesser findings (logging stopped, validation
          off, rotation off, a bucket whose policy refuses the trail's key). Every bucket has
          the CloudTrail bucket policy; the trails that can deliver have a log file of today
          (SSE-KMS under their key; `no-key`'s is SSE-S3), the others none. The expected outcome of every trail is in its name's table below
          and in crates/trailseal/tests/live.rs.
  scale   --trails N spread over --regions (default 4 Regions), a mix of the same causes.

Usage: seed-moto.py --endpoint http://127.0.0.1:PORT [--scenario broken|scale] [--trails N]
Prints one JSON line: {"account": ..., "trails": N, "regions": [...]}.
Uses boto3, which comes with moto[server] in scripts/setup-moto.sh's venv.
"""

import argparse
import datetime
import json
import sys

import boto3
from botocore.config import Config

ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
SCALE_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]


def good_policy(account=ACCOUNT):
    """The key policy the CloudTrail console creates, plus a SourceArn-free encrypt grant."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM user permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*",
             "Resource": "*",
             "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"}}},
            {"Sid": "Allow CloudTrail to describe key", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*"},
            {"Sid": "Allow principals in the account to decrypt log files", "Effect": "Allow",
             "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": "*",
             "Condition": {"StringEquals": {"kms:CallerAccount": account},
                           "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"}}},
        ],
    }


EXTERNAL_AUDITOR = "arn:aws:iam::210987654321:role/ExternalAuditor"


def bucket_policy(bucket, require_key=None, account=ACCOUNT):
    """The bucket policy of the CloudTrail User Guide ("Amazon S3 bucket policy for
    CloudTrail"), for every trail of the account; `require_key` adds a Deny of PutObject
    unless SSE-KMS under that key."""
    statements = [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         # Each demo trail writes under its own S3 key prefix (its name).
         "Resource": [f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*",
                      f"arn:aws:s3:::{bucket}/*/AWSLogs/{account}/*"],
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                        "aws:SourceAccount": account}}},
    ]
    if bucket.endswith("ap-southeast-2"):
        # The apse2 logs are shared with an external auditor (who also holds a KMS grant on the
        # apse2 key): TS015 fails for those trails, and `trailseal readers` names the role.
        statements.append(
            {"Sid": "ExternalAuditorRead", "Effect": "Allow",
             "Principal": {"AWS": EXTERNAL_AUDITOR}, "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/*"})
    if require_key:
        statements.append(
            {"Sid": "RequireTheLogKey", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{bucket}/*",
             "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": require_key}}})
    return {"Version": "2012-10-17", "Statement": statements}


def root_only_policy(account=ACCOUNT):
    """The AWS default key policy: CloudTrail is not named, so it cannot encrypt."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM user permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}]}


def deny_cloudtrail_policy(account=ACCOUNT):
    p = good_policy(account)
    p["Statement"].append({"Sid": "Deny CloudTrail", "Effect": "Deny",
                           "Principal": {"Service": "cloudtrail.amazonaws.com"},
                           "Action": "kms:GenerateDataKey*", "Resource": "*"})
    return p


def wrong_account_policy(account=ACCOUNT):
    p = good_policy(account)
    p["Statement"][1]["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"] = \
        "arn:aws:cloudtrail:*:999999999999:trail/*"
    return p


def other_trail_source_arn_policy(account=ACCOUNT):
    p = good_policy(account)
    p["Statement"][1]["Condition"]["StringEquals"] = {
        "aws:SourceArn": f"arn:aws:cloudtrail:us-east-1:{account}:trail/some-other-trail"}
    return p


def encrypt_only_policy(account=ACCOUNT):
    """Grants kms:Encrypt, which CloudTrail does not use: it calls GenerateDataKey."""
    p = good_policy(account)
    p["Statement"][1]["Action"] = "kms:Encrypt"
    return p


def no_describe_policy(account=ACCOUNT):
    p = good_policy(account)
    del p["Statement"][2]
    return p


class Seeder:
    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.clients = {}
        self.buckets = {}
        self.delivered = []

    def client(self, service, region):
        key = (service, region)
        if key not in self.clients:
            cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
            self.clients[key] = boto3.client(
                service, region_name=region, endpoint_url=self.endpoint,
                aws_access_key_id="testing", aws_secret_access_key="testing", config=cfg)
        return self.clients[key]

    def bucket(self, region, require_key=None):
        """The Region's log bucket with the CloudTrail User Guide's bucket policy; with
        `require_key`, a second bucket whose policy also denies PutObject unless SSE-KMS
        names that key (hardened for another key than a trail's: TS014 fails)."""
        slot = (region, require_key)
        if slot not in self.buckets:
            name = f"trailseal-demo-logs-{region}" + ("-hardened" if require_key else "")
            s3 = self.client("s3", region)
            if region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
            s3.put_bucket_policy(Bucket=name, Policy=json.dumps(bucket_policy(name, require_key)))
            # Object ACLs disabled, as for every bucket created since April 2023.
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
                "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
            self.buckets[slot] = name
        return self.buckets[slot]

    def iam_readers(self):
        """The account's log readers (TS015, `trailseal readers`): a group of auditors (user
        alice) and a role with a managed policy that reads and decrypts the logs, a role that
        can only download the objects, and a service-linked role (never a reader)."""
        iam = self.client("iam", "us-east-1")
        read = iam.create_policy(PolicyName="ReadCloudTrailLogs", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Sid": "Objects", "Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::trailseal-demo-logs-*/*"},
                {"Sid": "Decrypt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}))["Policy"]["Arn"]
        iam.create_group(GroupName="security-auditors")
        iam.attach_group_policy(GroupName="security-auditors", PolicyArn=read)
        iam.create_user(UserName="alice")
        iam.add_user_to_group(GroupName="security-auditors", UserName="alice")
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sts:AssumeRole"}]})
        iam.create_role(RoleName="Investigator", AssumeRolePolicyDocument=trust)
        iam.attach_role_policy(RoleName="Investigator", PolicyArn=read)
        iam.create_role(RoleName="Builder", AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName="Builder", PolicyName="artifacts", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))

    def key(self, region, policy=None, alias=None, rotation=True, spec="SYMMETRIC_DEFAULT",
            multi_region=False):
        kms = self.client("kms", region)
        args = {"KeySpec": spec, "KeyUsage": "ENCRYPT_DECRYPT", "MultiRegion": multi_region,
                "Description": f"trailseal demo {alias or ''}"}
        if policy is not None:
            args["Policy"] = json.dumps(policy)
        meta = kms.create_key(**args)["KeyMetadata"]
        if rotation and spec == "SYMMETRIC_DEFAULT":
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        if alias:
            kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        return meta

    def deliver(self, bucket, prefix, region, sse):
        """One log file as CloudTrail writes it today (moto's CloudTrail delivers nothing):
        under PREFIX/AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/, SSE-KMS under `sse` (a key
        ARN) or SSE-S3 when `sse` is "AES256"."""
        now = datetime.datetime.now(datetime.timezone.utc)
        key = (f"{prefix}/AWSLogs/{ACCOUNT}/CloudTrail/{region}/{now:%Y/%m/%d}/"
               f"{ACCOUNT}_CloudTrail_{region}_{now:%Y%m%dT%H%MZ}_{len(self.delivered):016d}.json.gz")
        args = {"Bucket": bucket, "Key": key, "Body": b"{}"}
        if sse == "AES256":
            args["ServerSideEncryption"] = "AES256"
        else:
            args.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=sse)
        self.client("s3", region).put_object(**args)
        self.delivered.append(key)

    def trail(self, name, region, key=None, multi_region=False, validation=True, logging=True,
              bucket_region=None, bucket=None, delivered=None):
        """A trail; `delivered`: the key ARN (or "AES256") of a log file it wrote today."""
        bucket = bucket or self.bucket(bucket_region or region)
        if delivered:
            self.deliver(bucket, name, region, delivered)
        ct = self.client("cloudtrail", region)
        # Its own S3 key prefix: its log files can be told apart from the other trails'.
        args = {"Name": name, "S3BucketName": bucket, "S3KeyPrefix": name,
                "IsMultiRegionTrail": multi_region, "EnableLogFileValidation": validation}
        if key:
            args["KmsKeyId"] = key
        arn = ct.create_trail(**args)["TrailARN"]
        if logging:
            ct.start_logging(Name=arn)
        return arn


def seed_broken(s):
    use1, euw1, apse2 = REGIONS
    good_use1 = s.key(use1, good_policy(), alias="alias/cloudtrail-use1")
    good_euw1 = s.key(euw1, good_policy(), alias="alias/cloudtrail-euw1")
    good_apse2 = s.key(apse2, good_policy(), alias="alias/cloudtrail-apse2")
    mrk = s.key(use1, good_policy(), alias="alias/cloudtrail-mrk", multi_region=True)
    replica = s.client("kms", use1).replicate_key(
        KeyId=mrk["KeyId"], ReplicaRegion=euw1, Policy=json.dumps(good_policy()))["ReplicaKeyMetadata"]
    no_rotation = s.key(euw1, good_policy(), rotation=False)
    # A KMS grant opens decryption of the apse2 trails' logs to another account (TS008 names it).
    s.client("kms", apse2).create_grant(
        KeyId=good_apse2["KeyId"], Name="external-auditor",
        GranteePrincipal=EXTERNAL_AUDITOR, Operations=["Decrypt"])
    s.iam_readers()

    # Compliant trails (TS001-TS006 pass), 15 of them.
    s.trail("main", use1, good_use1["Arn"], multi_region=True,  # shadow copies everywhere
            delivered=good_use1["Arn"])
    s.trail("by-alias-name", use1, "alias/cloudtrail-use1", delivered=good_use1["Arn"])
    s.trail("by-alias-arn", use1, f"arn:aws:kms:{use1}:{ACCOUNT}:alias/cloudtrail-use1",
            delivered=good_use1["Arn"])
    s.trail("by-bare-key-id", euw1, good_euw1["KeyId"], delivered=good_euw1["Arn"])
    # The multi-Region key's replica in the bucket's Region (eu-west-1), named by its ARN. (A
    # trail naming the primary in us-east-1 is TS005 indeterminate: see the evidence fixture.)
    s.trail("mrk-replica", euw1, replica["Arn"], delivered=replica["Arn"])
    s.trail("apse2-multi-region", apse2, good_apse2["Arn"], multi_region=True,
            delivered=good_apse2["Arn"])
    s.trail("euw1-app", euw1, good_euw1["Arn"], delivered=good_euw1["Arn"])
    # Its bucket requires SSE-KMS under another key than the trail's: TS014 fails.
    s.trail("euw1-data-events", euw1, good_euw1["Arn"],
            bucket=s.bucket(euw1, require_key=no_rotation["Arn"]))
    s.trail("apse2-app", apse2, "alias/cloudtrail-apse2", delivered=good_apse2["Arn"])
    s.trail("apse2-data-events", apse2, good_apse2["Arn"], delivered=good_apse2["Arn"])
    s.trail("use1-security", use1, good_use1["Arn"], delivered=good_use1["Arn"])
    s.trail("use1-logging-stopped", use1, good_use1["Arn"], logging=False)  # TS009 fails
    s.trail("use1-no-validation", use1, good_use1["Arn"], validation=False,  # TS010 fails
            delivered=good_use1["Arn"])
    s.trail("euw1-no-rotation", euw1, no_rotation["Arn"], delivered=no_rotation["Arn"])  # TS011 fails
    no_describe = s.key(use1, no_describe_policy())
    s.trail("use1-no-describe", use1, no_describe["Arn"], delivered=no_describe["Arn"])  # TS007 fails

    # Broken trails (one of TS001-TS006 fails), 13 of them.
    s.trail("no-key", use1, delivered="AES256")  # TS001 (and TS016: its files are SSE-S3)
    s.trail("key-missing", use1, f"arn:aws:kms:{use1}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000")  # TS002
    s.trail("alias-missing", euw1, "alias/does-not-exist")  # TS002
    disabled = s.key(use1, good_policy())
    s.client("kms", use1).disable_key(KeyId=disabled["KeyId"])
    s.trail("key-disabled", use1, disabled["Arn"])  # TS003
    pending = s.key(euw1, good_policy())
    s.client("kms", euw1).schedule_key_deletion(KeyId=pending["KeyId"], PendingWindowInDays=7)
    s.trail("key-pending-deletion", euw1, pending["Arn"])  # TS003
    aws_managed = s.key(use1, good_policy(), alias="alias/aws/cloudtrail")
    s.trail("aws-managed-key", use1, aws_managed["Arn"])  # TS004
    asymmetric = s.key(apse2, good_policy(), spec="RSA_2048", rotation=False)
    s.trail("asymmetric-key", apse2, asymmetric["Arn"])  # TS004
    s.trail("key-wrong-region", euw1, good_apse2["Arn"])  # TS005: bucket in eu-west-1
    s.trail("policy-root-only", use1, s.key(use1, root_only_policy())["Arn"])  # TS006
    s.trail("policy-explicit-deny", euw1, s.key(euw1, deny_cloudtrail_policy())["Arn"])  # TS006
    s.trail("policy-wrong-account", apse2, s.key(apse2, wrong_account_policy())["Arn"])  # TS006
    s.trail("policy-other-trail", use1, s.key(use1, other_trail_source_arn_policy())["Arn"])  # TS006
    s.trail("policy-encrypt-only", apse2, s.key(apse2, encrypt_only_policy())["Arn"])  # TS006
    return REGIONS, 28


def seed_scale(s, n, regions):
    """n trails over the Regions; keys shared (8 per Region), one trail in 4 broken."""
    keys = {}
    for r in regions:
        keys[r] = [s.key(r, good_policy()) for _ in range(6)]
        keys[r].append(s.key(r, root_only_policy()))
        dis = s.key(r, good_policy())
        s.client("kms", r).disable_key(KeyId=dis["KeyId"])
        keys[r].append(dis)
    for i in range(n):
        r = regions[i % len(regions)]
        pool = keys[r]
        if i % 4 == 3:
            key = pool[6 + (i // 4) % 2]["Arn"]  # root-only policy or disabled key
        elif i % 13 == 5:
            key = None
        else:
            key = pool[i % 6]["Arn"]
        s.trail(f"scale-{i:04d}", r, key, multi_region=(i == 0))
    return regions, n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--scenario", choices=["broken", "scale"], default="broken")
    ap.add_argument("--trails", type=int, default=500)
    ap.add_argument("--regions", default=",".join(SCALE_REGIONS))
    a = ap.parse_args()
    s = Seeder(a.endpoint)
    if a.scenario == "broken":
        regions, n = seed_broken(s)
    else:
        regions, n = seed_scale(s, a.trails, [r for r in a.regions.split(",") if r])
    print(json.dumps({"account": ACCOUNT, "trails": n, "regions": regions}))


if __name__ == "__main__":
    sys.exit(main())
