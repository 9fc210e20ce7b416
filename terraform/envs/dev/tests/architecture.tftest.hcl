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
    condition     = alltrue([for rule in output.architecture.vpn_access : rule.port == 1194 || (rule.port == 943 && rule.cidr != "0.0.0.0/0")])
    error_message = "The VPN server opens UDP 1194 to clients and its web UI (943) to admin ranges only; nothing on 443."
  }
  assert {
    condition     = strcontains(output.cluster_settings, "DATABASE_USER=bookstore_app\n") && !strcontains(output.cluster_settings, "admin_bookstore")
    error_message = "The API connects as its own user, never the master user."
  }
  assert {
    condition     = strcontains(output.cluster_settings, "WRITE_TOKEN_SECRET_ARN=arn:aws:secretsmanager:")
    error_message = "The cluster side is told where the API's write token is kept."
  }
}

run "the_api_behind_cloudfront_once_its_load_balancer_exists" {
  command = apply
  variables {
    api_origin_domain = "a1b2c3-123456789.elb.eu-west-1.amazonaws.com"
  }
  assert {
    condition     = output.architecture.web.api_routed
    error_message = "Stage 3 routes /api/* through CloudFront (HTTPS) to the load balancer."
  }
}

run "a_desired_node_count_outside_its_bounds_is_refused" {
  command = plan
  variables {
    node_desired_size = 5
  }
  expect_failures = [var.node_desired_size]
}
