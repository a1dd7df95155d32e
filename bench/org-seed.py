#!/usr/bin/env python3
"""Seeds a moto server with an AWS Organization for `trailseal audit --org` benchmarks.

Layout
  management  the default account 123456789012: organizations.create_organization(FeatureSet=ALL)
              and --accounts N member accounts (organizations.create_account).
  every account (management included), reached by sts.assume_role into
  arn:aws:iam::ACCOUNT:role/OrganizationAccountAccessRole (moto switches to the role's account;
  the management account uses the caller's own credentials):
    - one S3 bucket trailseal-org-logs-ACCOUNT in us-east-1 and one customer-managed KMS key in
      us-east-1 (alias/cloudtrail, rotation on) with the CloudTrail console key policy
      (seed-moto.py's good_policy for that account). CloudTrail needs the key in the bucket's
      Region, so every trail of the account uses this bucket and this key;
    - "main": a multi-Region trail in us-east-1 (logging, log file validation);
    - "REGION-trail": one single-Region trail in each other Region of --regions.
  broken, by account index i (management 0, members 1..N in creation order):
    - i % 7 == 0:  the trail in the first other Region has no KmsKeyId (TS001);
    - i % 11 == 0: the trail in the last other Region uses a second, disabled key (TS003).
  management only: "org-trail", an organization trail (IsOrganizationTrail, multi-Region) in
  us-east-1 with its own key (alias/cloudtrail-org). moto keeps it in the management account
  only: it does not appear in the member accounts' DescribeTrails as it would on AWS.

Usage: org-seed.py --endpoint http://127.0.0.1:PORT [--accounts N] [--regions R1,R2,...]
                   [--workers W]
Prints one JSON line: {"management": ..., "organization": ..., "accounts": N+1, "regions": [...],
"seconds": ..., "trails": ..., "broken_trails": ..., "member_accounts": [...]}.
Uses boto3, which comes with moto[server] in scripts/setup-moto.sh's venv. Seed a fresh server
(or POST /moto-api/reset first): a second run fails on the existing organization.
"""

import argparse
import concurrent.futures
import importlib
import json
import os
import sys
import threading
import time

import boto3
from botocore.config import Config

# good_policy comes from scripts/seed-moto.py (no bytecode cache written into scripts/).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
good_policy = importlib.import_module("seed-moto").good_policy

MANAGEMENT = "123456789012"
HOME = "us-east-1"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
ROLE = "OrganizationAccountAccessRole"
CONFIG = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 4, "mode": "standard"},
                max_pool_connections=4)

_local = threading.local()


def session():
    """One boto3 session per thread: sessions are not thread-safe, and a session caches the
    service models, so clients made from it are cheap."""
    if not hasattr(_local, "session"):
        _local.session = boto3.session.Session()
    return _local.session


class Account:
    """Clients for one account, made with that account's credentials."""

    def __init__(self, endpoint, creds):
        self.endpoint = endpoint
        self.creds = creds
        self.clients = {}

    def client(self, service, region=HOME):
        key = (service, region)
        if key not in self.clients:
            self.clients[key] = session().client(
                service, region_name=region, endpoint_url=self.endpoint, config=CONFIG, **self.creds)
        return self.clients[key]

    def key(self, account, alias=None, enabled=True):
        kms = self.client("kms")
        meta = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT",
                              Description=f"CloudTrail logs {alias or ''}".strip(),
                              Policy=json.dumps(good_policy(account)))["KeyMetadata"]
        kms.enable_key_rotation(KeyId=meta["KeyId"])
        if alias:
            kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        if not enabled:
            kms.disable_key(KeyId=meta["KeyId"])
        return meta["Arn"]

    def trail(self, name, region, bucket, key=None, multi_region=False, org=False):
        ct = self.client("cloudtrail", region)
        args = {"Name": name, "S3BucketName": bucket, "IsMultiRegionTrail": multi_region,
                "EnableLogFileValidation": True, "IncludeGlobalServiceEvents": multi_region}
        if key:
            args["KmsKeyId"] = key
        if org:
            args["IsOrganizationTrail"] = True
        arn = ct.create_trail(**args)["TrailARN"]
        ct.start_logging(Name=arn)
        return arn


def credentials(endpoint, base, account):
    if account == MANAGEMENT:
        return base
    sts = session().client("sts", region_name=HOME, endpoint_url=endpoint, config=CONFIG, **base)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}",
                        RoleSessionName="trailseal-seed")["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


def seed_account(endpoint, base, index, account, regions):
    """Seeds one account; returns (trails, broken trails)."""
    a = Account(endpoint, credentials(endpoint, base, account))
    bucket = f"trailseal-org-logs-{account}"
    a.client("s3").create_bucket(Bucket=bucket)
    key = a.key(account, alias="alias/cloudtrail")
    a.trail("main", HOME, bucket, key, multi_region=True)
    trails, broken = 1, 0
    others = [r for r in regions if r != HOME]
    disabled = None
    for n, region in enumerate(others):
        k = key
        if index and index % 7 == 0 and n == 0:
            k = None
        elif index and index % 11 == 0 and n == len(others) - 1:
            disabled = disabled or a.key(account, enabled=False)
            k = disabled
        a.trail(f"{region}-trail", region, bucket, k)
        trails += 1
        broken += k is not key
    if account == MANAGEMENT:
        org_key = a.key(account, alias="alias/cloudtrail-org")
        a.trail("org-trail", HOME, bucket, org_key, multi_region=True, org=True)
        trails += 1
    return trails, broken


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--accounts", type=int, default=200, help="member accounts (default 200)")
    ap.add_argument("--regions", default=",".join(REGIONS))
    ap.add_argument("--workers", type=int, default=2,
                    help="accounts seeded in parallel (default 2: moto serves one request at a "
                         "time, and boto3 itself costs about as much CPU as moto)")
    a = ap.parse_args()
    regions = [r for r in a.regions.split(",") if r]
    start = time.monotonic()
    base = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

    org = session().client("organizations", region_name=HOME, endpoint_url=a.endpoint, config=CONFIG, **base)
    organization = org.create_organization(FeatureSet="ALL")["Organization"]
    if organization["MasterAccountId"] != MANAGEMENT:
        sys.exit(f"org-seed: management account is {organization['MasterAccountId']}, expected {MANAGEMENT}")
    members = []
    for i in range(1, a.accounts + 1):
        status = org.create_account(Email=f"member-{i:04d}@example.com",
                                    AccountName=f"member-{i:04d}")["CreateAccountStatus"]
        if status["State"] != "SUCCEEDED" or not status.get("AccountId"):
            sys.exit(f"org-seed: create_account {i}: {status}")
        members.append(status["AccountId"])
    if len(set(members)) != len(members) or MANAGEMENT in members:
        sys.exit("org-seed: moto returned a duplicate account id")

    accounts = [MANAGEMENT] + members
    trails = broken = 0
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.workers))
    try:
        futures = [pool.submit(seed_account, a.endpoint, base, i, acct, regions)
                   for i, acct in enumerate(accounts)]
        for f in futures:
            t, b = f.result()
            trails += t
            broken += b
    except BaseException:  # a failed account or Ctrl-C: start no other account
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()

    print(json.dumps({"management": MANAGEMENT, "organization": organization["Id"],
                      "accounts": len(accounts), "regions": regions,
                      "seconds": round(time.monotonic() - start, 2),
                      "trails": trails, "broken_trails": broken, "member_accounts": members}))


if __name__ == "__main__":
    sys.exit(main())
