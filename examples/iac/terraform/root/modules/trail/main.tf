# A local module: a trail encrypted with the key its caller passes (or none).
variable "name" {
  type = string
}

variable "bucket" {
  type = string
}

variable "kms_key_arn" {
  type    = string
  default = null
}

resource "aws_cloudtrail" "this" {
  name                       = var.name
  s3_bucket_name             = var.bucket
  kms_key_id                 = var.kms_key_arn
  enable_log_file_validation = true
}
