# An environment's architecture, planned and applied against a mocked AWS provider (the real
# provider's schema and validation, no AWS account): `terraform test` in terraform/envs/dev or
# terraform/envs/prod (which links this file), with that environment's terraform.tfvars.

mock_provider "aws" {
  # The provider checks that ARNs look like ARNs, even mocked ones.
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/mock" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mock" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock" }
  }
  mock_resource "aws_cloudfront_distribution" {
    defaults = { arn = "arn:aws:cloudfront::123456789012:distribution/MOCK" }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0" }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/mock" }
  }
  mock_data "aws_ec2_managed_prefix_list" {
    defaults = {
      id      = "pl-cloudfront"
      entries = [{ cidr = "130.176.0.0/18", description = "" }, { cidr = "64.252.64.0/18", description = "" }]
    }
  }
  mock_data "aws_eks_addon_version" {
    defaults = { version = "v1.0.0-eksbuild.1" }
  }
  mock_resource "aws_lb" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/mock/0123456789abcdef" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/mock/0123456789abcdef" }
  }
  mock_resource "aws_eks_node_group" {
    defaults = {
      resources = [{ autoscaling_groups = [{ name = "eks-default-0123" }], remote_access_security_group_id = "" }]
    }
  }
  # Computed blocks the configuration reads need a shape (the mock fills in strings elsewhere).
  mock_resource "aws_eks_cluster" {
    defaults = {
      identity              = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE" }] }]
      certificate_authority = [{ data = "Y2VydGlmaWNhdGU=" }]
    }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-example", kms_key_id = "key", secret_status = "active" }]
    }
  }
}

run "architecture" {
  command = apply

  assert {
    condition     = length(output.architecture.network.public_subnets) == 2 && length(output.architecture.network.private_subnets) == 2
    error_message = "2 public and 2 private subnets."
  }
  assert {
    condition = (
      length(toset([for s in output.architecture.network.public_subnets : s.az])) == 2 &&
      length(toset([for s in output.architecture.network.private_subnets : s.az])) == 2
    )
    error_message = "Public and private subnets each over 2 AZs."
  }
  assert {
    condition     = alltrue([for gw in output.architecture.network.public_default_routes : gw == output.architecture.network.internet_gateway])
    error_message = "The public subnets' default route goes to the internet gateway."
  }
  assert {
    condition = (
      length(output.architecture.network.private_default_routes) == 2 &&
      alltrue([for nat in output.architecture.network.private_default_routes : contains(output.architecture.network.nat_gateway_ids, nat)]) &&
      alltrue([for subnet in output.architecture.network.nat_gateway_subnets : contains(output.architecture.network.public_subnet_ids, subnet)])
    )
    error_message = "Each private subnet's default route goes to a NAT gateway in a public subnet."
  }
  assert {
    condition     = output.architecture.network.nat_gateways == (var.single_nat_gateway ? 1 : 2)
    error_message = "One NAT gateway with single_nat_gateway (dev), else one per AZ (prod)."
  }
  assert {
    condition     = [output.architecture.nodes.desired, output.architecture.nodes.min, output.architecture.nodes.max] == [2, 1, 3]
    error_message = "The node group runs 2 nodes, between 1 and 3."
  }
  assert {
    condition     = toset(output.architecture.nodes.subnet_ids) == toset(output.architecture.private)
    error_message = "The worker nodes run in the private subnets only."
  }
  assert {
    condition = (
      output.architecture.database.publicly_accessible == false &&
      output.architecture.database.storage_encrypted == true &&
      toset(output.architecture.database.subnet_ids) == toset(output.architecture.private)
    )
    error_message = "The database is private (private subnets, no public address) and encrypted."
  }
  assert {
    condition     = length(output.architecture.database.ingress_cidrs) == 0 && length(output.architecture.database.ingress_security_groups) == 2
    error_message = "MySQL admits the cluster's and the bastion's security groups, no address range (so never 0.0.0.0/0)."
  }
  assert {
    condition = (
      output.architecture.database.engine_version == "8.4" &&
      output.architecture.database.performance_insights == !can(regex("\\.(micro|small)$", var.db_instance_class))
    )
    error_message = "MySQL 8.4; Performance Insights wherever the class supports it (not db.t4g.micro, which RDS refuses)."
  }
  assert {
    condition = (
      output.architecture.database.parameters["require_secure_transport"] == "1" &&
      output.architecture.database.parameters["log_bin_trust_function_creators"] == "1"
    )
    error_message = "MySQL takes TLS only, and lets the API's own user create its migrations' triggers (binary logging is on)."
  }
  assert {
    condition = (
      output.architecture.web.public_access_blocked &&
      output.architecture.web.origin_access_control == "always" &&
      output.architecture.web.bucket_readers == [{ Service = "cloudfront.amazonaws.com" }]
    )
    error_message = "The page's bucket is private: public access blocked, read by CloudFront (origin access control) only."
  }
  assert {
    condition     = !contains(output.architecture.ssh_cidrs, "0.0.0.0/0")
    error_message = "SSH is never open to 0.0.0.0/0."
  }
  assert {
    condition     = alltrue([for rule in output.architecture.vpn_access : rule.port == 1194 || (contains([943, 22], rule.port) && rule.cidr != "0.0.0.0/0")])
    error_message = "The VPN server opens UDP 1194 to clients, its web UI (943) and SSH (22, with a key pair) to admin ranges only; nothing on 443."
  }
  assert {
    condition     = strcontains(output.cluster_settings, "DATABASE_USER=bookstore_app\n") && !strcontains(output.cluster_settings, "admin_bookstore")
    error_message = "The API connects as its own user, never the master user."
  }
  assert {
    condition     = strcontains(output.cluster_settings, "WRITE_TOKEN_SECRET_ARN=arn:aws:secretsmanager:")
    error_message = "The cluster side is told where the API's write token is kept."
  }

  # What a real account's first apply, its destroy and its second apply need (issue 18).
  assert {
    condition = alltrue([
      for s in values(output.architecture.secrets) : s.name_prefix != null && s.recovery_days == var.secret_recovery_days
    ])
    error_message = "Secrets have unique names (name_prefix) and the environment's recovery window: a re-created environment does not collide with its deleted secrets."
  }
  assert {
    condition     = can(regex("^bookstore-${var.environment}-final-[0-9]{14}$", output.architecture.database.final_snapshot))
    error_message = "The final snapshot's name is unique per database: a second destroy does not collide with the first one's snapshot."
  }
  assert {
    condition     = !contains(output.architecture.database.environment_keys, output.architecture.database.storage_key)
    error_message = "The database (and so its final snapshot) is not encrypted with a key the environment's destroy deletes (it uses the AWS-managed RDS key)."
  }
  assert {
    condition     = output.architecture.web.force_destroy
    error_message = "The web bucket (rebuilt from the repository by every apply) is emptied by destroy, in every environment."
  }
  assert {
    condition = (
      output.architecture.monitoring.stop_instance_before_detaching &&
      contains(output.architecture.monitoring.config_keys, "prometheus/prometheus.yml") &&
      contains(output.architecture.monitoring.config_keys, "prometheus/rules/bookstore.rules.yml") &&
      length([for k in output.architecture.monitoring.config_keys : k if startswith(k, "grafana/dashboards/")]) > 0
    )
    error_message = "The monitoring configuration is in the bucket the host syncs (not its user data), and a replaced host is stopped before its data volume detaches."
  }
  assert {
    condition     = output.architecture.monitoring.ami_parameter == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    error_message = "The monitoring host runs Amazon Linux 2023, whose image starts the SSM agent without cloud-init: Session Manager reaches it even when its setup failed."
  }
  assert {
    condition     = contains(output.architecture.monitoring.cluster_ports, 8081) && contains(output.architecture.monitoring.cluster_ports, 8080) && contains(output.architecture.monitoring.cluster_ports, 9100)
    error_message = "The cluster admits the monitoring host on the API pods' metrics port (8081), the operator's (8080) and node-exporter's (9100)."
  }
  assert {
    condition = (
      output.architecture.cluster.support_type == "STANDARD" &&
      toset(output.architecture.cluster.addons_before_nodes) == toset(["eks-pod-identity-agent", "kube-proxy", "vpc-cni"]) &&
      toset(output.architecture.cluster.addons_after_nodes) == toset(["coredns", "metrics-server"]) &&
      output.architecture.cluster.addons_pinned
    )
    error_message = "EKS standard support only; networking add-ons before the nodes, CoreDNS and metrics-server (the HPA's CPU figures) after them, each at the newest version for the cluster's (EKS does not move them on upgrades)."
  }
  assert {
    condition     = output.architecture.nodes.version == var.kubernetes_version && startswith(output.architecture.nodes.ami_type, "AL2023_")
    error_message = "The nodes follow kubernetes_version (version and ami_type set on the node group)."
  }
  assert {
    condition = (
      output.architecture.api.internal &&
      length(output.architecture.api.ingress_cidrs) == 0 &&
      output.architecture.api.ingress_prefix_lists == ["pl-cloudfront"] &&
      output.architecture.api.target_port == var.api_node_port
    )
    error_message = "The API's load balancer is internal and admits CloudFront's origin-facing prefix list only (no address range, so never 0.0.0.0/0), in front of the Bookstore's node port."
  }
  assert {
    condition = (
      output.architecture.web.api_origins == [{ vpc_origin = true, custom_origin = false }] &&
      output.architecture.web.api_behaviours == [{ path = "/api/*", viewer = "https-only", origin = "api" }]
    )
    error_message = "CloudFront reaches the API through a VPC origin (no public origin), routed from /api/* in the first apply, HTTPS only."
  }
  assert {
    condition     = strcontains(output.cluster_settings, "TRUSTED_PROXIES=${join(",", var.private_subnet_cidrs)},130.176.0.0/18,64.252.64.0/18\n") && strcontains(output.cluster_settings, "API_NODE_PORT=${var.api_node_port}\n")
    error_message = "The cluster side gets TRUSTED_PROXIES derived from what sits in front of the pods (the nodes and CloudFront's VPC origin in the private subnets, CloudFront's origin-facing ranges), and the node port."
  }
  assert {
    condition = (
      alltrue([for days in [output.architecture.log_groups.flow_logs, output.architecture.log_groups.eks] : days == var.log_retention_days]) &&
      output.architecture.log_groups.rds == { error = var.log_retention_days, slowquery = var.log_retention_days }
    )
    error_message = "Every log group (flow logs, EKS, RDS's error and slow query logs, no general log) is managed with the environment's retention."
  }
  assert {
    condition     = strcontains(output.architecture.bastion_setup, "mariadb") && strcontains(output.architecture.bastion_setup, "global-bundle.pem")
    error_message = "The bastion gets a MySQL client and the RDS certificate authorities."
  }
}

run "admins_and_a_vpn_key_pair" {
  command = apply
  variables {
    admin_principal_arns = ["arn:aws:iam::123456789012:role/platform-admins"]
    vpn_key_name         = "bookstore-vpn"
  }
  assert {
    condition     = toset(output.architecture.cluster.admins) == toset(["arn:aws:iam::123456789012:role/platform-admins"])
    error_message = "admin_principal_arns become cluster admins (EKS access entries)."
  }
  assert {
    condition = length([for rule in output.architecture.vpn_access : rule if rule.port == 22]) == length(var.vpn_admin_cidrs) && alltrue([
      for rule in output.architecture.vpn_access : contains(var.vpn_admin_cidrs, rule.cidr) if rule.port == 22
    ])
    error_message = "With a key pair, the VPN server takes SSH from the admin ranges only: a way in when its setup failed."
  }
}

run "a_desired_node_count_outside_its_bounds_is_refused" {
  command = plan
  variables {
    node_desired_size = 5
  }
  expect_failures = [var.node_desired_size]
}
