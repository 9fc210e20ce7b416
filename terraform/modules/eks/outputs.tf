output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_ca_certificate" {
  description = "Base64-encoded certificate authority of the Kubernetes API."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_security_group_id" {
  description = "Security group EKS attaches to the control plane and the managed nodes."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider, for IAM roles for service accounts."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${aws_eks_cluster.this.name}"
}

output "oidc_issuer" {
  description = "OIDC issuer of the cluster without its scheme, as IAM trust policies name it."
  value       = replace(aws_iam_openid_connect_provider.this.url, "https://", "")
}

output "node_group" {
  description = "Where the worker nodes run and how many: for reviews and the architecture tests."
  value = {
    subnet_ids = aws_eks_node_group.default.subnet_ids
    desired    = aws_eks_node_group.default.scaling_config[0].desired_size
    min        = aws_eks_node_group.default.scaling_config[0].min_size
    max        = aws_eks_node_group.default.scaling_config[0].max_size
    version    = aws_eks_node_group.default.version
    ami_type   = aws_eks_node_group.default.ami_type
  }
}

output "node_autoscaling_group_name" {
  description = "Auto Scaling group of the managed node group (load balancer target groups attach to it)."
  value       = aws_eks_node_group.default.resources[0].autoscaling_groups[0].name
}

output "control_plane" {
  description = "What keeps the cluster upgraded and usable: for reviews and the architecture tests."
  value = {
    support_type        = aws_eks_cluster.this.upgrade_policy[0].support_type
    addons_before_nodes = sort([for a in aws_eks_addon.before_nodes : a.addon_name])
    addons_after_nodes  = sort([for a in aws_eks_addon.after_nodes : a.addon_name])
    addons_pinned       = alltrue([for a in concat(values(aws_eks_addon.before_nodes), values(aws_eks_addon.after_nodes)) : a.addon_version != null])
    admins              = sort([for a in aws_eks_access_policy_association.admins : a.principal_arn])
    log_retention_days  = aws_cloudwatch_log_group.control_plane.retention_in_days
  }
}
