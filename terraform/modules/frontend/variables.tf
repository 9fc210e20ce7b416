variable "name" {
  description = "Name prefix; the bucket is named <name>-web-<account id> (S3 rules: lowercase, at most 63 characters in all)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,37}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 3-39 lowercase letters, digits or single dashes, starting and ending with a letter or digit: it becomes part of a bucket name."
  }
}

variable "web_dir" {
  description = "Directory holding the page's files (bookstore-api/web)."
  type        = string
}

variable "api_url" {
  description = "Public URL of the bookstore API written into config.js; empty (the default) means the page's own origin, where CloudFront routes /api/* to the api_origin."
  type        = string
  default     = ""
  validation {
    condition     = var.api_url == "" || can(regex("^https?://[^/]+$", var.api_url))
    error_message = "api_url must be empty or an origin such as https://api.example.com (no path)."
  }
}

variable "price_class" {
  description = "CloudFront price class (which edge locations serve the page)."
  type        = string
  default     = "PriceClass_100"
  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "api_origin" {
  description = "The API's internal load balancer (modules/api-origin: its DNS name and CloudFront VPC origin), routed to from /api/*; null serves the page alone."
  type = object({
    domain_name   = string
    vpc_origin_id = string
  })
  default = null
}
