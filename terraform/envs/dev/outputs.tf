output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.eks.cluster_name
}

output "kubeconfig_command" {
  description = "Writes a kubeconfig entry for the cluster."
  value       = module.eks.kubeconfig_command
}

output "web_url" {
  description = "The web page, on CloudFront."
  value       = module.frontend.url
}

output "api_url" {
  description = "The API's load balancer URL (empty until AWS assigned it: apply again)."
  value       = module.bookstore.api_url
}

output "vpn_address" {
  description = "Public address of the OpenVPN server."
  value       = module.vpn.public_ip
}

output "vpn_admin_url" {
  description = "OpenVPN Access Server admin UI (from vpn_admin_cidrs)."
  value       = module.vpn.admin_url
}

output "grafana_url" {
  description = "Grafana, through the VPN."
  value       = module.monitoring.grafana_url
}

output "prometheus_url" {
  description = "Prometheus, through the VPN."
  value       = module.monitoring.prometheus_url
}

output "bastion_instance_id" {
  description = "Bastion instance, for `aws ssm start-session --target <id>`."
  value       = module.bastion.instance_id
}

output "database_endpoint" {
  description = "RDS endpoint (host:port)."
  value       = "${module.rds.address}:${module.rds.port}"
}

output "database_master_secret_arn" {
  description = "Secrets Manager secret holding the database master credentials."
  value       = module.rds.master_user_secret_arn
  sensitive   = true
}
