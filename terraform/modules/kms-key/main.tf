# A customer managed key with rotation, administered by the account, optionally usable by
# CloudWatch Logs.
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  account_administers = {
    Sid       = "AccountAdministers"
    Effect    = "Allow"
    Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
    Action    = "kms:*"
    Resource  = "*"
  }
  logs_use = {
    Sid       = "CloudWatchLogsUse"
    Effect    = "Allow"
    Principal = { Service = "logs.${data.aws_region.current.name}.amazonaws.com" }
    Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    Resource  = "*"
  }
}

resource "aws_kms_key" "this" {
  description         = var.description
  enable_key_rotation = true
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = var.cloudwatch_logs ? [local.account_administers, local.logs_use] : [local.account_administers]
  })
  tags = var.tags
}
