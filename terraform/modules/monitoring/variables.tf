variable "name" {
  description = "Name prefix of the monitoring host's resources."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the monitoring host."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC: Prometheus scrapes pods and the Kubernetes API inside it."
  type        = string
}

variable "private_subnet_id" {
  description = "Private subnet the host runs in."
  type        = string
}

variable "vpn_security_group_id" {
  description = "Security group of the VPN server: the only source admitted to Grafana and Prometheus."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster whose pods Prometheus discovers."
  type        = string
}

variable "cluster_endpoint" {
  description = "URL of the cluster's Kubernetes API."
  type        = string
}

variable "cluster_ca_certificate" {
  description = "Base64-encoded certificate authority of the Kubernetes API."
  type        = string
}

variable "prometheus_config" {
  description = "Prometheus configuration (deploy/monitoring/prometheus.yml); Kubernetes discovery is pointed at the cluster's API here."
  type        = string
}

variable "alert_rules" {
  description = "Alert rule files by file name (deploy/monitoring/rules)."
  type        = map(string)
}

variable "grafana_dashboards" {
  description = "Grafana dashboards (JSON) by file name (deploy/monitoring/grafana/dashboards)."
  type        = map(string)
}

variable "grafana_provisioning" {
  description = "Grafana provisioning files by path under /etc/grafana/provisioning (deploy/monitoring/grafana/provisioning)."
  type        = map(string)
}

variable "prometheus_version" {
  description = "Prometheus release installed on the host."
  type        = string
  default     = "3.5.0"
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.prometheus_version))
    error_message = "prometheus_version must look like 3.5.0."
  }
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
  default     = "t3.small"
}

variable "volume_size_gb" {
  description = "Root volume size, in GiB (the metrics are on the data volume)."
  type        = number
  default     = 20
  validation {
    condition     = var.volume_size_gb >= 8
    error_message = "At least 8 GiB."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "region" {
  description = "AWS region the resources are in (the provider's), e.g. \"eu-west-1\"."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "cluster_security_group_id" {
  description = "The EKS cluster security group, opened to this host on 443 (discovery), 8080 and 9100 (scrapes)."
  type        = string
}

variable "data_volume_size_gb" {
  description = "Size of the volume holding Prometheus' and Grafana's data, in GiB; it outlives the instance."
  type        = number
  default     = 50
  validation {
    condition     = var.data_volume_size_gb >= 10
    error_message = "At least 10 GiB."
  }
}
