variable "operator_manifest" {
  description = "The operator's rendered install (deploy/install.yaml): namespace, CRD, RBAC, Deployment."
  type        = string
}

variable "namespace" {
  description = "Namespace of the Bookstore and its password Secret."
  type        = string
  default     = "bookstore"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a valid Kubernetes namespace name."
  }
}

variable "name" {
  description = "Name of the Bookstore resource (and of its Deployment and Service)."
  type        = string
  default     = "bookstore"
}

variable "image" {
  description = "The bookstore-api image, e.g. ghcr.io/bookstore-dev/bookstore-api:0.1.0."
  type        = string
}

variable "replicas" {
  description = "Starting number of API pods."
  type        = number
  default     = 2
}

variable "min_replicas" {
  description = "Fewest API pods (autoscaling)."
  type        = number
  default     = 1
}

variable "max_replicas" {
  description = "Most API pods (autoscaling)."
  type        = number
  default     = 3
}

variable "database_host" {
  description = "MySQL host (the RDS endpoint address)."
  type        = string
}

variable "database_port" {
  description = "MySQL port."
  type        = number
  default     = 3306
}

variable "database_name" {
  description = "MySQL database name."
  type        = string
}

variable "database_user" {
  description = "MySQL user."
  type        = string
}

variable "database_password_secret_arn" {
  description = "Secrets Manager secret (JSON with a `password` key, as RDS manages it) holding the MySQL password."
  type        = string
}

variable "web_origin" {
  description = "Origin of the web page (the CloudFront URL), allowed to call the API (CORS)."
  type        = string
}

variable "service_annotations" {
  description = "Annotations of the API's LoadBalancer Service (AWS Load Balancer Controller settings)."
  type        = map(string)
  default = {
    "service.beta.kubernetes.io/aws-load-balancer-type"            = "external"
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type" = "ip"
    "service.beta.kubernetes.io/aws-load-balancer-scheme"          = "internet-facing"
  }
}
