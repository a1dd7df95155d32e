#!/usr/bin/env python3
"""Generates an IaC corpus for bench/scan-vs-checkov.sh.

  gen-iac-corpus.py OUT_DIR --modules N   # N Terraform root modules + N/4 CloudFormation templates

Each Terraform root module (one directory, main.tf): a variable `enabled` (default false), a
KMS key whose policy is a jsonencode() that lets CloudTrail encrypt, a bucket, and a trail whose
key is `var.enabled ? aws_kms_key.k.arn : null` -> with the defaults the trail is NOT encrypted
(TS001 fails). Every 3rd module sets `enabled = true` in terraform.tfvars -> encrypted, and its
key policy then decides (every 6th policy forgets CloudTrail: TS006 fails).
Each CloudFormation template: a parameter UseKms (default "false"), a condition, a key, and a
trail with KMSKeyId !If [UseKms, !GetAtt Key.Arn, !Ref AWS::NoValue] -> not encrypted.
Prints the expected counts as JSON.
"""
import json
import os
import sys

TF = """variable "enabled" {{
  type    = bool
  default = false
}}

data "aws_caller_identity" "current" {{}}

resource "aws_s3_bucket" "logs" {{
  bucket = "logs-{i}-${{data.aws_caller_identity.current.account_id}}"
}}

resource "aws_kms_key" "k" {{
  enable_key_rotation = true
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{
        Effect    = "Allow"
        Principal = {{ AWS = "arn:aws:iam::${{data.aws_caller_identity.current.account_id}}:root" }}
        Action    = "kms:*"
        Resource  = "*"
      }},
      {{
        Effect    = "Allow"
        Principal = {{ Service = "{service}" }}
        Action    = ["kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
      }}
    ]
  }})
}}

resource "aws_cloudtrail" "t" {{
  name                       = "trail-{i}"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = var.enabled ? aws_kms_key.k.arn : null
  enable_log_file_validation = true
}}
"""

CFN = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  UseKms:
    Type: String
    Default: "false"
Conditions:
  Encrypt: !Equals [!Ref UseKms, "true"]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Key:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{AWS: !Sub "arn:aws:iam::${{AWS::AccountId}}:root"}}
            Action: "kms:*"
            Resource: "*"
          - Effect: Allow
            Principal: {{Service: cloudtrail.amazonaws.com}}
            Action: ["kms:GenerateDataKey*", "kms:DescribeKey"]
            Resource: "*"
  Trail{i}:
    Type: AWS::CloudTrail::Trail
    Properties:
      IsLogging: true
      EnableLogFileValidation: true
      S3BucketName: !Ref Bucket
      KMSKeyId: !If [Encrypt, !GetAtt Key.Arn, !Ref AWS::NoValue]
"""


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    out = sys.argv[1]
    n = int(sys.argv[sys.argv.index("--modules") + 1]) if "--modules" in sys.argv else 2000
    expected = {"tf_modules": n, "cfn_templates": n // 4, "ts001_fail": 0, "ts006_fail": 0, "pass": 0}
    for i in range(n):
        d = os.path.join(out, "terraform", f"m{i:06d}")
        os.makedirs(d, exist_ok=True)
        enabled = i % 3 == 0
        bad_policy = enabled and i % 6 == 0
        service = "ec2.amazonaws.com" if bad_policy else "cloudtrail.amazonaws.com"
        with open(os.path.join(d, "main.tf"), "w") as f:
            f.write(TF.format(i=i, service=service))
        if enabled:
            with open(os.path.join(d, "terraform.tfvars"), "w") as f:
                f.write("enabled = true\n")
            if bad_policy:
                expected["ts006_fail"] += 1
            else:
                expected["pass"] += 1
        else:
            expected["ts001_fail"] += 1
    d = os.path.join(out, "cloudformation")
    os.makedirs(d, exist_ok=True)
    for i in range(n // 4):
        with open(os.path.join(d, f"t{i:06d}.yaml"), "w") as f:
            f.write(CFN.format(i=i))
        expected["ts001_fail"] += 1
    print(json.dumps(expected))


if __name__ == "__main__":
    main()
