# Key policies written as templates: a heredoc with %{for} / %{if} directives and the
# `~` strip markers, and a templatefile() with a directive.

variable "template_services" {
  type    = list(string)
  default = ["cloudtrail.amazonaws.com", "logs.amazonaws.com"]
}

variable "allow_cloudtrail" {
  type    = bool
  default = false
}

resource "aws_kms_key" "heredoc" {
  enable_key_rotation = true
  policy              = <<-POLICY
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Principal": {"AWS": "arn:aws:iam::${local.account}:root"},
          "Action": "kms:*",
          "Resource": "*"
        }%{ for s in var.template_services ~},
        {
          "Sid": "${s}",
          "Effect": "Allow",
          "Principal": {"Service": "${s}"},
          "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
          "Resource": "*"
        }%{ endfor ~}
      ]
    }
  POLICY
}

resource "aws_cloudtrail" "heredoc" {
  name                       = "heredoc"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = aws_kms_key.heredoc.arn
  enable_log_file_validation = true
}

# templatefile: CloudTrail is only in the policy when allow_cloudtrail is true (default false).
resource "aws_kms_key" "from_file" {
  enable_key_rotation = true
  policy = templatefile("${path.module}/policies/key.json.tpl", {
    account          = local.account
    allow_cloudtrail = var.allow_cloudtrail
  })
}

resource "aws_cloudtrail" "from_file" {
  name                       = "from-file"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = aws_kms_key.from_file.arn
  enable_log_file_validation = true
}

# Inline suppressions, checkov-style, with a mandatory reason. On a key, they apply to the
# trails that use it: TS011 of aws_cloudtrail.no_rotation is `skipped` with this reason.
# trailseal:skip=TS011:keys of this sandbox account are re-created every 30 days (runbook RB-7)
resource "aws_kms_key" "no_rotation" {
  policy = data.aws_iam_policy_document.trail_key.json
}

resource "aws_cloudtrail" "no_rotation" {
  name                       = "no-rotation"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = aws_kms_key.no_rotation.arn
  enable_log_file_validation = true
  # trailseal:skip=TS010
}
