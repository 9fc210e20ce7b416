output "address" {
  description = "Host name of the database endpoint."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database endpoint."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the bookstore database."
  value       = aws_db_instance.this.db_name
}

output "master_username" {
  description = "Master user name."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS keeps the master password in."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.this.id
}

output "app_username" {
  description = "Database user the API connects as."
  value       = var.app_username
}

output "app_user_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the API user's password (JSON: username, password)."
  value       = aws_secretsmanager_secret.app.arn
}

output "key_arn" {
  description = "KMS key of the database, its Performance Insights and its secrets."
  value       = module.key.arn
}

output "posture" {
  description = "What keeps the database private and its data encrypted: for reviews and the architecture tests."
  value = {
    publicly_accessible  = aws_db_instance.this.publicly_accessible
    storage_encrypted    = aws_db_instance.this.storage_encrypted
    storage_key          = aws_db_instance.this.kms_key_id
    environment_keys     = [module.key.arn, module.logs_key.arn]
    final_snapshot       = aws_db_instance.this.final_snapshot_identifier
    log_groups           = { for name, group in aws_cloudwatch_log_group.exports : name => group.retention_in_days }
    log_exports          = aws_db_instance.this.enabled_cloudwatch_logs_exports
    secret_name_prefix   = aws_secretsmanager_secret.app.name_prefix
    secret_recovery_days = aws_secretsmanager_secret.app.recovery_window_in_days
    engine_version       = aws_db_instance.this.engine_version
    performance_insights = aws_db_instance.this.performance_insights_enabled
    subnet_ids           = aws_db_subnet_group.this.subnet_ids
    # Every way in: security groups only, never an address range.
    ingress_cidrs           = [for r in aws_vpc_security_group_ingress_rule.mysql : r.cidr_ipv4 if r.cidr_ipv4 != null]
    ingress_security_groups = [for r in aws_vpc_security_group_ingress_rule.mysql : r.referenced_security_group_id]
    parameters              = { for p in aws_db_parameter_group.this.parameter : p.name => p.value }
  }
}
