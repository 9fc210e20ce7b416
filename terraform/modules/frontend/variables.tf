variable "name" {
  description = "Name prefix; the bucket is named <name>-web-<account id>."
  type        = string
}

variable "web_dir" {
  description = "Directory holding the page's files (bookstore-api/web)."
  type        = string
}

variable "api_url" {
  description = "Public URL of the bookstore API written into config.js; empty means the page's own origin."
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

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its objects."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
