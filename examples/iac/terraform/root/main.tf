# A root module with the cases other scanners get wrong. `trailseal scan` evaluates it
# without Terraform: variables, locals, conditionals, jsonencode, policy documents, count and
# for_each.

provider "aws" {
  region = "us-east-1"
}

variable "encrypt" {
  type    = bool
  default = false
}

variable "extra_trails" {
  type    = set(string)
  default = ["audit", "security"]
}

variable "external_key_arn" {
  type = string
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  prefix  = "org-${local.account}"
}

resource "aws_s3_bucket" "logs" {
  bucket = "${local.prefix}-cloudtrail"
}

data "aws_iam_policy_document" "trail_key" {
  statement {
    sid       = "EnableIAM"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account}:root"]
    }
  }
  statement {
    sid       = "CloudTrailEncrypt"
    actions   = ["kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:cloudtrail:arn"
      values   = ["arn:aws:cloudtrail:*:${local.account}:trail/*"]
    }
  }
  statement {
    sid       = "CloudTrailDescribe"
    actions   = ["kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "trail" {
  description         = "CloudTrail logs"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.trail_key.json
}

resource "aws_kms_alias" "trail" {
  name          = "alias/cloudtrail"
  target_key_id = aws_kms_key.trail.key_id
}

# jsonencode policy that forgets CloudTrail: TS006 fails.
resource "aws_kms_key" "no_cloudtrail" {
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${local.account}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_cloudtrail" "main" {
  name                       = "main"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = aws_kms_key.trail.arn
  is_multi_region_trail      = true
  enable_log_file_validation = true
}

resource "aws_cloudtrail" "by_alias" {
  name                       = "by-alias"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = aws_kms_alias.trail.name
  enable_log_file_validation = true
}

# checkov stores `cond ? key.arn : null` as a non-empty string and passes it.
resource "aws_cloudtrail" "optional" {
  name                       = "optional"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = var.encrypt ? aws_kms_key.trail.arn : null
  enable_log_file_validation = true
}

resource "aws_cloudtrail" "wrong_policy" {
  name                       = "wrong-policy"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = aws_kms_key.no_cloudtrail.arn
  enable_log_file_validation = true
}

resource "aws_cloudtrail" "extra" {
  for_each                   = var.extra_trails
  name                       = "extra-${each.key}"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = "alias/aws/cloudtrail"
  enable_log_file_validation = true
}

resource "aws_cloudtrail" "external" {
  count                      = 1
  name                       = "external-${count.index}"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = var.external_key_arn
  enable_log_file_validation = true
}

# A policy built with for expressions: one statement per service, readers from a list.
variable "log_readers" {
  type    = list(string)
  default = ["security", "audit"]
}

locals {
  services = { encrypt = "kms:GenerateDataKey*", describe = "kms:DescribeKey" }
}

resource "aws_kms_key" "for_policy" {
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${local.account}:root" }
        Action    = "kms:*"
        Resource  = "*"
      }],
      [for sid, action in local.services : {
        Sid       = "CloudTrail-${sid}"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = action
        Resource  = "*"
      }],
      [{
        Sid       = "Readers"
        Effect    = "Allow"
        Principal = { AWS = [for r in var.log_readers : "arn:aws:iam::${local.account}:role/${r}" if r != ""] }
        Action    = "kms:Decrypt"
        Resource  = "*"
      }]
    )
  })
}

resource "aws_cloudtrail" "for_policy" {
  name                       = "for-policy"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = aws_kms_key.for_policy.arn
  enable_log_file_validation = true
}
