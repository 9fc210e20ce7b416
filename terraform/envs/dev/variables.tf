variable "environment" {
  description = "Environment name (dev, prod): part of every resource's name."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "availability_zones" {
  description = "The two availability zones (a and b of the region)."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"
}

variable "public_subnet_cidrs" {
  description = "CIDR blocks of the two public subnets."
  type        = list(string)
  default     = ["10.0.0.0/20", "10.0.16.0/20"]
}

variable "private_subnet_cidrs" {
  description = "CIDR blocks of the two private subnets."
  type        = list(string)
  default     = ["10.0.128.0/19", "10.0.160.0/19"]
}

variable "single_nat_gateway" {
  description = "One NAT gateway for both AZs (cheaper) instead of one per AZ (zone-redundant)."
  type        = bool
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.33"
}

variable "eks_public_access_cidrs" {
  description = "CIDR blocks that may reach the Kubernetes API from the internet (where Terraform and kubectl run); empty keeps it VPN-only."
  type        = list(string)
}

variable "node_instance_types" {
  description = "Instance types of the EKS worker nodes."
  type        = list(string)
}

variable "node_desired_size" {
  description = "Worker nodes to run."
  type        = number
  default     = 2
}

variable "node_min_size" {
  description = "Fewest worker nodes."
  type        = number
  default     = 1
}

variable "node_max_size" {
  description = "Most worker nodes."
  type        = number
  default     = 3
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
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
}

variable "bastion_ssh_cidrs" {
  description = "CIDR blocks allowed to SSH to the bastion; empty: Session Manager only."
  type        = list(string)
  default     = []
}

variable "vpn_client_cidrs" {
  description = "CIDR blocks VPN clients connect from."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "vpn_admin_cidrs" {
  description = "CIDR blocks allowed to the OpenVPN admin UI."
  type        = list(string)
}

variable "vpn_ami_id" {
  description = "OpenVPN Access Server AMI; null looks up the newest Marketplace image."
  type        = string
  default     = null
}

variable "monitoring_instance_type" {
  description = "Instance type of the Prometheus + Grafana host."
  type        = string
  default     = "t3.small"
}

variable "api_image" {
  description = "The bookstore-api image the Bookstore runs."
  type        = string
}

variable "frontend_force_destroy" {
  description = "Let `terraform destroy` empty and delete the web page's bucket."
  type        = bool
  default     = false
}
