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
  description = "OpenVPN Access Server AMI; null takes the newest image of marketplace_product_code (subscribe to the product first)."
  type        = string
  default     = null
  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]+$", var.ami_id))
    error_message = "ami_id must look like ami-0123456789abcdef0."
  }
}

variable "marketplace_product_code" {
  description = "AWS Marketplace product code of the Access Server image: the default is \"OpenVPN Access Server / Self-Hosted VPN (BYOL)\" (two connections without a licence)."
  type        = string
  default     = "f2ew2wrz425a1jagnifd02u5t"
}

variable "key_name" {
  description = "EC2 key pair for SSH to the server from admin_cidrs (the way in when its setup failed; its admin password is set there: sudo passwd openvpn); null opens no SSH."
  type        = string
  default     = null
}

variable "cluster_security_group_id" {
  description = "The EKS cluster security group, which is opened on 443 to VPN clients (kubectl to the private endpoint)."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
  default     = "t3.small"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like t3.small."
  }
}

variable "client_cidrs" {
  description = "CIDR blocks VPN clients connect from (UDP 1194)."
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
