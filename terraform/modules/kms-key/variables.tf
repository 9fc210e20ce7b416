variable "description" {
  description = "What the key protects."
  type        = string
}

variable "cloudwatch_logs" {
  description = "Let CloudWatch Logs of this region encrypt and decrypt with the key (for encrypted log groups)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to the key."
  type        = map(string)
  default     = {}
}

variable "region" {
  description = "Region of the key (names the CloudWatch Logs service principal); needed with cloudwatch_logs."
  type        = string
  default     = null
  validation {
    condition     = !var.cloudwatch_logs || var.region != null
    error_message = "region is needed when cloudwatch_logs is true."
  }
}
