{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::${account}:root"},
      "Action": "kms:*",
      "Resource": "*"
    }
    %{~ if allow_cloudtrail ~}
    ,{
      "Effect": "Allow",
      "Principal": {"Service": "cloudtrail.amazonaws.com"},
      "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
      "Resource": "*"
    }
    %{~ endif ~}
  ]
}
