variable "name" {
  description = "Name prefix for every resource of the network."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrhost(var.cidr, 0))
    error_message = "cidr must be a valid IPv4 CIDR block."
  }
}

variable "azs" {
  description = "The two availability zones to spread the subnets over."
  type        = list(string)
  validation {
    condition     = length(var.azs) == 2
    error_message = "Exactly two availability zones are expected."
  }
}

variable "public_subnet_cidrs" {
  description = "CIDR blocks of the two public subnets (NAT gateways, bastion, VPN, load balancers), one per AZ."
  type        = list(string)
  default     = ["10.0.0.0/20", "10.0.16.0/20"]
  validation {
    condition     = length(var.public_subnet_cidrs) == 2 && alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "Two valid CIDR blocks are expected."
  }
}

variable "private_subnet_cidrs" {
  description = "CIDR blocks of the two private subnets (EKS nodes, RDS, monitoring), one per AZ."
  type        = list(string)
  default     = ["10.0.128.0/19", "10.0.160.0/19"]
  validation {
    condition     = length(var.private_subnet_cidrs) == 2 && alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "Two valid CIDR blocks are expected."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for both AZs (cheaper, not zone-redundant) instead of one per AZ."
  type        = bool
  default     = false
}

variable "cluster_name" {
  description = "Name of the EKS cluster that uses these subnets (for the subnet discovery tags)."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Days to keep the VPC flow logs."
  type        = number
  default     = 365
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention period CloudWatch Logs supports."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "region" {
  description = "AWS region the resources are in (the provider's), e.g. \"eu-west-1\"."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}
