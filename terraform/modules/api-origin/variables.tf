variable "name" {
  description = "Name prefix of the load balancer and its companions (at most 28 characters: load balancer names are limited to 32)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,27}$", var.name))
    error_message = "name must be 2-28 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the load balancer."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (two AZs) of the load balancer."
  type        = list(string)
  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "At least two private subnets (two AZs)."
  }
}

variable "private_subnet_cidrs" {
  description = "CIDR blocks of those subnets: CloudFront's VPC origin connects from them."
  type        = list(string)
  validation {
    condition     = alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Each entry must be a CIDR block, and not 0.0.0.0/0."
  }
}

variable "node_security_group_id" {
  description = "Security group of the worker nodes (EKS's cluster security group), opened to the load balancer on node_port."
  type        = string
}

variable "node_autoscaling_group_name" {
  description = "Auto Scaling group of the worker nodes, whose instances become the targets."
  type        = string
}

variable "node_port" {
  description = "Node port of the Bookstore's NodePort Service (spec.service.nodePort), which the targets listen on."
  type        = number
  default     = 30080
  validation {
    condition     = var.node_port >= 30000 && var.node_port <= 32767
    error_message = "node_port must lie in Kubernetes' node port range, 30000-32767."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
