variable "name" {
  description = "Name prefix of the VPN's resources."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the VPN server."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC, which VPN clients reach."
  type        = string
}

variable "public_subnet_id" {
  description = "Public subnet the VPN server runs in."
  type        = string
}

variable "ami_id" {
  description = "OpenVPN Access Server AMI; null looks up the newest Marketplace image (subscribe to it first)."
  type        = string
  default     = null
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
  default     = "t3.small"
}

variable "client_cidrs" {
  description = "CIDR blocks VPN clients connect from (UDP 1194, TCP 443)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
  validation {
    condition     = length(var.client_cidrs) > 0 && alltrue([for c in var.client_cidrs : can(cidrhost(c, 0))])
    error_message = "At least one valid CIDR block."
  }
}

variable "admin_cidrs" {
  description = "CIDR blocks allowed to the Access Server admin UI (TCP 943)."
  type        = list(string)
  validation {
    condition     = alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Each entry must be a valid CIDR block, and not 0.0.0.0/0."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
