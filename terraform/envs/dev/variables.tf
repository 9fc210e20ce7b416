variable "environment" {
  description = "Environment name (dev, prod): part of every resource's name."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits."
  }
}

variable "region" {
  description = "AWS region, e.g. eu-west-1."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "availability_zones" {
  description = "The two availability zones (a and b of the region)."
  type        = list(string)
  validation {
    condition     = length(var.availability_zones) == 2 && alltrue([for az in var.availability_zones : startswith(az, var.region)])
    error_message = "Two availability zones of the region, e.g. [\"eu-west-1a\", \"eu-west-1b\"]."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a CIDR block."
  }
}

variable "public_subnet_cidrs" {
  description = "CIDR blocks of the two public subnets (inside vpc_cidr)."
  type        = list(string)
  default     = ["10.0.0.0/20", "10.0.16.0/20"]
  validation {
    condition     = length(var.public_subnet_cidrs) == 2 && alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "Two CIDR blocks."
  }
}

variable "private_subnet_cidrs" {
  description = "CIDR blocks of the two private subnets (inside vpc_cidr)."
  type        = list(string)
  default     = ["10.0.128.0/19", "10.0.160.0/19"]
  validation {
    condition     = length(var.private_subnet_cidrs) == 2 && alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "Two CIDR blocks."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for both AZs (cheaper) instead of one per AZ (zone-redundant)."
  type        = bool
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version (1.35 is in EKS standard support until early 2027: older versions cost extra)."
  type        = string
  default     = "1.35"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.35."
  }
}

variable "eks_public_access_cidrs" {
  description = "CIDR blocks that may reach the Kubernetes API from the internet (where Terraform and kubectl run); empty keeps it VPN-only."
  type        = list(string)
  validation {
    condition     = alltrue([for c in var.eks_public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Each entry must be a CIDR block, and not 0.0.0.0/0."
  }
}

variable "node_instance_types" {
  description = "Instance types of the EKS worker nodes."
  type        = list(string)
  validation {
    condition     = length(var.node_instance_types) > 0 && alltrue([for t in var.node_instance_types : can(regex("^[a-z][a-z0-9]*\\.[a-z0-9]+$", t))])
    error_message = "At least one instance type, such as t3.medium."
  }
}

variable "node_desired_size" {
  description = "Worker nodes to run (between node_min_size and node_max_size)."
  type        = number
  default     = 2
  validation {
    condition     = var.node_min_size <= var.node_desired_size && var.node_desired_size <= var.node_max_size
    error_message = "node_desired_size must lie between node_min_size and node_max_size."
  }
}

variable "node_min_size" {
  description = "Fewest worker nodes."
  type        = number
  default     = 1
  validation {
    condition     = var.node_min_size >= 1
    error_message = "node_min_size must be at least 1."
  }
}

variable "node_max_size" {
  description = "Most worker nodes."
  type        = number
  default     = 3
  validation {
    condition     = var.node_max_size >= var.node_min_size && var.node_max_size <= 100
    error_message = "node_max_size must be at least node_min_size, and at most 100."
  }
}

variable "db_instance_class" {
  description = "RDS instance class (Performance Insights is turned on where the class supports it)."
  type        = string
  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must look like db.t4g.micro."
  }
}

variable "db_multi_az" {
  description = "RDS standby in the second AZ."
  type        = bool
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database."
  type        = bool
}

variable "db_backup_retention_days" {
  description = "Days of automated RDS backups."
  type        = number
  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be 1 to 35."
  }
}

variable "bastion_ssh_cidrs" {
  description = "CIDR blocks allowed to SSH to the bastion; empty: Session Manager only."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.bastion_ssh_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Each entry must be a CIDR block, and not 0.0.0.0/0."
  }
}

variable "vpn_client_cidrs" {
  description = "CIDR blocks VPN clients connect from (UDP 1194)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
  validation {
    condition     = length(var.vpn_client_cidrs) > 0 && alltrue([for c in var.vpn_client_cidrs : can(cidrhost(c, 0))])
    error_message = "At least one CIDR block."
  }
}

variable "vpn_admin_cidrs" {
  description = "CIDR blocks allowed to the OpenVPN admin and client web UI (TCP 943)."
  type        = list(string)
  validation {
    condition     = alltrue([for c in var.vpn_admin_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Each entry must be a CIDR block, and not 0.0.0.0/0."
  }
}

variable "vpn_ami_id" {
  description = "OpenVPN Access Server AMI; null takes the newest image of the subscribed Marketplace product."
  type        = string
  default     = null
  validation {
    condition     = var.vpn_ami_id == null || can(regex("^ami-[0-9a-f]+$", var.vpn_ami_id))
    error_message = "vpn_ami_id must look like ami-0123456789abcdef0."
  }
}

variable "vpn_key_name" {
  description = "EC2 key pair for SSH to the VPN server; null: Session Manager only."
  type        = string
  default     = null
}

variable "monitoring_instance_type" {
  description = "Instance type of the Prometheus + Grafana host."
  type        = string
  default     = "t3.small"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]*\\.[a-z0-9]+$", var.monitoring_instance_type))
    error_message = "monitoring_instance_type must look like t3.small."
  }
}

variable "api_image" {
  description = "The bookstore-api image the Bookstore runs (written into the cluster side's settings)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$", var.api_image))
    error_message = "api_image must be an image reference with a tag or digest, e.g. ghcr.io/bookstore-dev/bookstore-api:0.1.0."
  }
}

variable "api_node_port" {
  description = "Node port of the Bookstore's NodePort Service, behind the API's internal load balancer (written into the cluster side's settings)."
  type        = number
  default     = 30080
  validation {
    condition     = var.api_node_port >= 30000 && var.api_node_port <= 32767
    error_message = "api_node_port must lie in Kubernetes' node port range, 30000-32767."
  }
}

variable "admin_principal_arns" {
  description = "IAM roles or users (people, CI) given cluster-admin access to the cluster, besides whoever ran the first apply."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Days to keep CloudWatch logs: EKS control plane (audit included), VPC flow logs, RDS exports."
  type        = number
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention periods (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "secret_recovery_days" {
  description = "Days a deleted secret (database user password, write token) can be restored: 0 deletes at once (dev), else 7 to 30."
  type        = number
  validation {
    condition     = var.secret_recovery_days == 0 || (var.secret_recovery_days >= 7 && var.secret_recovery_days <= 30)
    error_message = "secret_recovery_days must be 0 or 7 to 30."
  }
}
