variable "cluster_name" {
  description = "Name of the EKS cluster."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,99}$", var.cluster_name))
    error_message = "cluster_name must start with a letter and hold only letters, digits and dashes."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes version of the control plane, e.g. \"1.35\". The default is in EKS standard support until early 2027 (older versions cost extra in extended support); the operator's end-to-end suite runs against a 1.36 API server."
  type        = string
  default     = "1.35"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.35."
  }
}

variable "vpc_id" {
  description = "VPC the cluster runs in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (two AZs) for the control plane's network interfaces and the worker nodes."
  type        = list(string)
  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "At least two private subnets (two AZs) are needed."
  }
}

variable "endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the Kubernetes API endpoint from the internet; empty makes the endpoint private (reachable through the VPN only)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.endpoint_public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Each entry must be a valid CIDR block, and not 0.0.0.0/0."
  }
}

variable "node_instance_types" {
  description = "EC2 instance types of the worker nodes."
  type        = list(string)
  default     = ["t3.medium"]
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
    condition     = var.node_max_size >= var.node_min_size
    error_message = "node_max_size must be at least node_min_size."
  }
}

variable "node_disk_size_gb" {
  description = "Root volume size of each worker node, in GiB."
  type        = number
  default     = 30
  validation {
    condition     = var.node_disk_size_gb >= 20
    error_message = "Nodes need at least 20 GiB."
  }
}

variable "log_retention_days" {
  description = "Days to keep the control plane logs."
  type        = number
  default     = 365
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

variable "node_ami_type" {
  description = "EKS-optimised image family of the worker nodes; its version follows kubernetes_version."
  type        = string
  default     = "AL2023_x86_64_STANDARD"
  validation {
    condition     = can(regex("^(AL2023|BOTTLEROCKET)_", var.node_ami_type))
    error_message = "node_ami_type must be an AL2023_* or BOTTLEROCKET_* type, e.g. AL2023_x86_64_STANDARD."
  }
}

variable "admin_principal_arns" {
  description = "IAM roles or users given cluster-admin access (EKS access entries), besides the identity that created the cluster."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for arn in var.admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", arn))])
    error_message = "Each entry must be an IAM role or user ARN."
  }
}
