# Local modules are evaluated with the inputs of each call; remote ones are reported as not
# evaluated (scan the plan to cover them).
module "encrypted" {
  source      = "./modules/trail"
  name        = "module-encrypted"
  bucket      = aws_s3_bucket.logs.id
  kms_key_arn = aws_kms_key.trail.arn
}

module "unencrypted" {
  source = "./modules/trail"
  name   = "module-unencrypted"
  bucket = aws_s3_bucket.logs.id
}

module "registry" {
  source  = "terraform-aws-modules/cloudtrail/aws"
  version = "~> 1.0"
}

module "kms" {
  source = "./modules/kms"
}

# The key comes from a module output.
resource "aws_cloudtrail" "module_key" {
  name                       = "module-key"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = module.kms.key_arn
  enable_log_file_validation = true
}
