# A customer managed key with rotation, administered by the account, optionally usable by
# CloudWatch Logs.
data "aws_caller_identity" "current" {}

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
    Principal = { Service = var.region == null ? null : "logs.${var.region}.amazonaws.com" }
    Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    Resource  = "*"
  }
}

resource "aws_kms_key" "this" {
  description         = var.description
  enable_key_rotation = true
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat([local.account_administers], var.cloudwatch_logs ? [local.logs_use] : [])
  })
  tags = var.tags
}
