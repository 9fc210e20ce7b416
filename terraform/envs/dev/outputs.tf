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
  description = "The API, on the page's origin (answers once the cluster side runs the Bookstore)."
  value       = "${module.frontend.url}/api/v1/books"
}

output "write_token_secret_arn" {
  description = "Secrets Manager secret holding the API's write token(s)."
  value       = aws_secretsmanager_secret.write_token.arn
}

output "app_user_secret_arn" {
  description = "Secrets Manager secret holding the API's database user's password."
  value       = module.rds.app_user_secret_arn
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

output "external_secrets_role_arn" {
  description = "IAM role of the External Secrets Operator's service account (external-secrets/external-secrets)."
  value       = module.external_secrets.arn
}

output "cluster_settings" {
  description = "What the cluster side needs, as deploy/aws/platform.env: terraform output -raw cluster_settings > deploy/aws/platform.env"
  value = join("", [for key, value in {
    REGION                 = var.region
    API_IMAGE              = var.api_image
    DATABASE_HOST          = module.rds.address
    DATABASE_PORT          = module.rds.port
    DATABASE_NAME          = module.rds.database_name
    DATABASE_USER          = module.rds.app_username
    APP_USER_SECRET_ARN    = module.rds.app_user_secret_arn
    MASTER_USER_SECRET_ARN = module.rds.master_user_secret_arn
    WRITE_TOKEN_SECRET_ARN = aws_secretsmanager_secret.write_token.arn
    API_NODE_PORT          = module.api_origin.node_port
    TRUSTED_PROXIES        = join(",", module.api_origin.trusted_proxies)
  } : "${key}=${value}\n"])
}

output "architecture" {
  description = "The layout the architecture tests check: subnets and routes, nodes, database, bucket, open ports."
  value = {
    network = module.vpc.layout
    nodes   = module.eks.node_group
    cluster = module.eks.control_plane
    api     = module.api_origin.posture
    secrets = {
      app_user    = { name_prefix = module.rds.posture.secret_name_prefix, recovery_days = module.rds.posture.secret_recovery_days }
      write_token = { name_prefix = aws_secretsmanager_secret.write_token.name_prefix, recovery_days = aws_secretsmanager_secret.write_token.recovery_window_in_days }
    }
    log_groups = {
      flow_logs = module.vpc.flow_log_retention_days
      eks       = module.eks.control_plane.log_retention_days
      rds       = module.rds.posture.log_groups
    }
    private       = module.vpc.private_subnet_ids
    database      = module.rds.posture
    web           = module.frontend.posture
    ssh_cidrs     = module.bastion.ssh_ingress_cidrs
    monitoring    = module.monitoring.posture
    bastion_setup = module.bastion.user_data
    vpn_access    = module.vpn.client_ingress
  }
}
