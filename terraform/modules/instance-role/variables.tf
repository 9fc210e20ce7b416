variable "name" {
  description = "Name of the role and of its instance profile."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
