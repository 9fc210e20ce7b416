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
