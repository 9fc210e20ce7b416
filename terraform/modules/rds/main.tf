resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.private_subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-mysql"
  description = "MySQL reachable from the EKS nodes and the bastion only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

# Keyed by name (known before apply), not by the security groups' ids (known only after).
resource "aws_vpc_security_group_ingress_rule" "mysql" {
  for_each                     = var.client_security_groups
  security_group_id            = aws_security_group.this.id
  description                  = "MySQL from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = each.value
}

# The key of Performance Insights and the database secrets, which go with the environment. The
# storage (and so every snapshot, the final one included) is encrypted with the account's
# AWS-managed RDS key instead: a destroy schedules this key for deletion, and a snapshot
# encrypted with a deleted key can never be restored.
module "key" {
  source      = "../kms-key"
  description = "${var.name} RDS Performance Insights and database secrets"
  tags        = var.tags
}

# The log groups RDS writes its exports to, made here first so that they have a retention and a
# key (RDS would create them itself, kept forever and unencrypted).
module "logs_key" {
  source          = "../kms-key"
  description     = "${var.name} RDS logs"
  cloudwatch_logs = true
  region          = var.region
  tags            = var.tags
}

resource "aws_cloudwatch_log_group" "exports" {
  for_each          = toset(var.log_exports)
  name              = "/aws/rds/instance/${var.name}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.logs_key.arn
  tags              = var.tags
}

locals {
  # RDS for MySQL refuses Performance Insights on the smallest classes
  # (InvalidParameterCombination): micro and small burstable instances.
  performance_insights = coalesce(
    var.performance_insights,
    !can(regex("^db\\.t[234]g?\\.(micro|small)$", var.instance_class)),
  )
}

# TLS only: the API connects with DB_SSL_MODE (preferred by default) and RDS presents a certificate.
resource "aws_db_parameter_group" "this" {
  name   = var.name
  family = "mysql${var.engine_version}"
  parameter {
    name  = "require_secure_transport"
    value = "1"
  }
  # The API's migrations create triggers (the search index) as the API's own user, not SUPER;
  # with binary logging on (backups), MySQL refuses that unless this is set.
  parameter {
    name  = "log_bin_trust_function_creators"
    value = "1"
  }
  tags = var.tags
}

resource "aws_iam_role" "monitoring" {
  name = "${var.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is switched per environment (var.multi_az): on in prod, off in dev to halve its cost.
  #checkov:skip=CKV_AWS_293:Deletion protection is switched per environment (var.deletion_protection): on in prod, off in dev so that it can be torn down.
  identifier     = var.name
  engine         = "mysql"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name  = var.database_name
  username = var.master_username
  # RDS keeps the master password in Secrets Manager and rotates it (every 7 days); the API uses
  # a user of its own (below), so a rotation never cuts it off.
  manage_master_user_password   = true
  master_user_secret_kms_key_id = module.key.arn

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  # null: the AWS-managed aws/rds key, which no destroy deletes (see module "key").
  kms_key_id = null

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = var.multi_az

  iam_database_authentication_enabled = true
  backup_retention_period             = var.backup_retention_days
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  # Unique per database: a second destroy of a re-created environment would otherwise fail on
  # the first one's snapshot. Fixed when the database is made (ignore_changes below).
  final_snapshot_identifier       = "${var.name}-final-${formatdate("YYYYMMDDhhmmss", timestamp())}"
  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = var.log_exports

  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = local.performance_insights
  performance_insights_kms_key_id       = local.performance_insights ? module.key.arn : null
  performance_insights_retention_period = local.performance_insights ? 7 : null

  tags       = var.tags
  depends_on = [aws_iam_role_policy_attachment.monitoring, aws_cloudwatch_log_group.exports]

  lifecycle {
    ignore_changes = [final_snapshot_identifier]
  }
}

# The API's own database user, with rights on its database only. Its password is generated once
# and kept in Secrets Manager; the cluster side (deploy/aws) creates the user from it with the
# master credentials, and syncs it into the Bookstore's password Secret.
data "aws_secretsmanager_random_password" "app" {
  password_length     = 32
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:The app user's password changes by hand (update the secret, the cluster side's job applies it); RDS rotates the master password.
  # A unique name: a deleted secret's name stays taken for its recovery window, which would stop
  # an environment re-created within it.
  name_prefix             = "${var.name}/app-user-"
  description             = "Password of the bookstore API's database user (${var.app_username})"
  kms_key_id              = module.key.arn
  recovery_window_in_days = var.secret_recovery_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    username = var.app_username
    password = data.aws_secretsmanager_random_password.app.random_password
  })
  lifecycle {
    # Generated once: a new random value on every plan must not replace the password.
    ignore_changes = [secret_string]
  }
}
