variable "name" {
  description = "Identifier of the database instance and prefix of its companions."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,50}$", var.name))
    error_message = "name must be lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (two AZs) of the DB subnet group."
  type        = list(string)
  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "RDS needs subnets in at least two AZs."
  }
}

variable "client_security_groups" {
  description = "Security groups allowed to connect on 3306, by a name of your choice (e.g. { eks = ..., bastion = ... }): the names key the rules, since the ids are known only after apply."
  type        = map(string)
}

variable "engine_version" {
  description = "MySQL major.minor version. The default, 8.4 (LTS), is in RDS standard support; 8.0 moved to extended support (extra charges)."
  type        = string
  default     = "8.4"
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must look like 8.4."
  }
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must look like db.t4g.micro."
  }
}

variable "performance_insights" {
  description = "Performance Insights; null turns it on wherever the instance class supports it (not on micro and small burstable classes)."
  type        = bool
  default     = null
}

variable "app_username" {
  description = "Database user the API connects as (created by the cluster side, deploy/aws); not the master user."
  type        = string
  default     = "bookstore_app"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,31}$", var.app_username))
    error_message = "app_username must be a MySQL user name of at most 32 lowercase letters, digits or underscores."
  }
}

variable "allocated_storage_gb" {
  description = "Initial storage, in GiB."
  type        = number
  default     = 20
  validation {
    condition     = var.allocated_storage_gb >= 20
    error_message = "At least 20 GiB."
  }
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling, in GiB."
  type        = number
  default     = 100
}

variable "database_name" {
  description = "Database (schema) created for the bookstore."
  type        = string
  default     = "bookstore"
  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,63}$", var.database_name))
    error_message = "database_name must be a valid MySQL identifier."
  }
}

variable "master_username" {
  description = "Master user name; its password is generated, kept in AWS Secrets Manager and rotated by RDS."
  type        = string
  default     = "admin_bookstore"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.master_username))
    error_message = "master_username must be at most 16 lowercase letters, digits or underscores."
  }
}

variable "multi_az" {
  description = "Run a standby in the second AZ."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Refuse to delete the database."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups."
  type        = number
  default     = 7
  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be 1 to 35."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "region" {
  description = "AWS region the resources are in (names the CloudWatch Logs service in the logs key's policy), e.g. \"eu-west-1\"."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "log_exports" {
  description = "Logs exported to CloudWatch Logs (error, slowquery, general, iam-db-auth-error). The general log records every statement: leave it out unless debugging."
  type        = list(string)
  default     = ["error", "slowquery"]
  validation {
    condition     = alltrue([for l in var.log_exports : contains(["error", "slowquery", "general", "iam-db-auth-error"], l)])
    error_message = "log_exports may hold error, slowquery, general and iam-db-auth-error."
  }
}

variable "log_retention_days" {
  description = "Days to keep the exported logs."
  type        = number
  default     = 30
}

variable "secret_recovery_days" {
  description = "Days a deleted secret (the API user's password) can still be restored: 0 deletes it at once, else 7 to 30."
  type        = number
  default     = 7
  validation {
    condition     = var.secret_recovery_days == 0 || (var.secret_recovery_days >= 7 && var.secret_recovery_days <= 30)
    error_message = "secret_recovery_days must be 0 or 7 to 30."
  }
}
