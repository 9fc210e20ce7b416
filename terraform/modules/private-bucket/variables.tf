variable "name" {
  description = "Bucket name (globally unique: S3's rules, lowercase, at most 63 characters)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 3-63 lowercase letters, digits or single dashes, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "KMS key the objects are encrypted with (readers need kms:Decrypt on it)."
  type        = string
}

variable "policy_statements" {
  description = "Bucket policy statements besides the TLS-only deny (e.g. a reader's Allow); the bucket's ARN is arn:aws:s3:::<name>."
  type        = any
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
