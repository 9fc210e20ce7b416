variable "name" {
  description = "Name of the role (and of its inline policy)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be a valid IAM role name (at most 64 characters)."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider."
  type        = string
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (as trust conditions name it)."
  type        = string
}

variable "namespace" {
  description = "Namespace of the service account."
  type        = string
}

variable "service_account" {
  description = "Name of the service account that may assume the role."
  type        = string
}

variable "policy_json" {
  description = "The role's permissions, as an IAM policy document."
  type        = string
}

variable "tags" {
  description = "Tags added to the role."
  type        = map(string)
  default     = {}
}
