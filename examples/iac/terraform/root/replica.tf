# A multi-Region key replicated to the Region of a second provider configuration, and the
# buckets there: the key must be in the bucket's Region (TS005).

provider "aws" {
  alias  = "west"
  region = "us-west-2"
}

resource "aws_kms_key" "primary" {
  multi_region        = true
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.trail_key.json
}

resource "aws_kms_replica_key" "west" {
  provider        = aws.west
  primary_key_arn = aws_kms_key.primary.arn
  policy          = data.aws_iam_policy_document.trail_key.json
}

resource "aws_s3_bucket" "west_logs" {
  provider = aws.west
  bucket   = "${local.prefix}-cloudtrail-west"
}

# The replica in the bucket's Region: every check passes (rotation is the primary's).
resource "aws_cloudtrail" "replica_key" {
  name                       = "replica-key"
  s3_bucket_name             = aws_s3_bucket.west_logs.id
  kms_key_id                 = aws_kms_replica_key.west.arn
  enable_log_file_validation = true
}

# The primary key for a bucket in another Region: TS005 fails.
resource "aws_cloudtrail" "primary_elsewhere" {
  name                       = "primary-elsewhere"
  s3_bucket_name             = aws_s3_bucket.west_logs.id
  kms_key_id                 = aws_kms_key.primary.arn
  enable_log_file_validation = true
}
