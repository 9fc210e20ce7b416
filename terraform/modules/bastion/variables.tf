variable "name" {
  description = "Name prefix of the bastion's resources."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the bastion."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC: the bastion reaches SSH and MySQL inside it."
  type        = string
}

variable "public_subnet_id" {
  description = "Public subnet the bastion runs in."
  type        = string
}

variable "ssh_allowed_cidrs" {
  description = "CIDR blocks allowed to SSH in; empty means no inbound port at all (SSM Session Manager only)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.ssh_allowed_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Each entry must be a valid CIDR block, and not 0.0.0.0/0."
  }
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
  default     = "t3.micro"
}

variable "key_name" {
  description = "EC2 key pair for SSH; null when only Session Manager is used."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
