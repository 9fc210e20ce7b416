# One environment of the bookstore platform: the AWS side only (the aws provider alone, so that it
# plans on an empty account). The cluster side, once the cluster exists, is deploy/aws (see
# terraform/README.md, "Deploying"). envs/prod links these files; only the values in
# terraform.tfvars differ.

provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}

locals {
  name       = "bookstore-${var.environment}"
  repo_root  = "${path.root}/../../.."
  monitoring = "${local.repo_root}/deploy/monitoring"
  tags = {
    Project     = "bookstore"
    Environment = var.environment
    ManagedBy   = "terraform"
  }
}

module "vpc" {
  source                  = "../../modules/vpc"
  name                    = local.name
  cidr                    = var.vpc_cidr
  azs                     = var.availability_zones
  public_subnet_cidrs     = var.public_subnet_cidrs
  private_subnet_cidrs    = var.private_subnet_cidrs
  single_nat_gateway      = var.single_nat_gateway
  cluster_name            = local.name
  flow_log_retention_days = var.log_retention_days
  region                  = var.region
  tags                    = local.tags
}

module "eks" {
  source                       = "../../modules/eks"
  cluster_name                 = local.name
  kubernetes_version           = var.kubernetes_version
  vpc_id                       = module.vpc.vpc_id
  private_subnet_ids           = module.vpc.private_subnet_ids
  endpoint_public_access_cidrs = var.eks_public_access_cidrs
  node_instance_types          = var.node_instance_types
  node_desired_size            = var.node_desired_size
  node_min_size                = var.node_min_size
  node_max_size                = var.node_max_size
  admin_principal_arns         = var.admin_principal_arns
  log_retention_days           = var.log_retention_days
  region                       = var.region
  tags                         = local.tags
}

module "bastion" {
  source            = "../../modules/bastion"
  name              = local.name
  vpc_id            = module.vpc.vpc_id
  vpc_cidr          = module.vpc.vpc_cidr
  public_subnet_id  = module.vpc.public_subnet_ids[0]
  ssh_allowed_cidrs = var.bastion_ssh_cidrs
  tags              = local.tags
}

module "rds" {
  source                 = "../../modules/rds"
  name                   = local.name
  vpc_id                 = module.vpc.vpc_id
  private_subnet_ids     = module.vpc.private_subnet_ids
  client_security_groups = { eks = module.eks.cluster_security_group_id, bastion = module.bastion.security_group_id }
  instance_class         = var.db_instance_class
  multi_az               = var.db_multi_az
  deletion_protection    = var.db_deletion_protection
  backup_retention_days  = var.db_backup_retention_days
  log_retention_days     = var.log_retention_days
  secret_recovery_days   = var.secret_recovery_days
  region                 = var.region
  tags                   = local.tags
}

module "vpn" {
  source                    = "../../modules/vpn"
  name                      = local.name
  vpc_id                    = module.vpc.vpc_id
  vpc_cidr                  = module.vpc.vpc_cidr
  public_subnet_id          = module.vpc.public_subnet_ids[1]
  ami_id                    = var.vpn_ami_id
  key_name                  = var.vpn_key_name
  client_cidrs              = var.vpn_client_cidrs
  admin_cidrs               = var.vpn_admin_cidrs
  cluster_security_group_id = module.eks.cluster_security_group_id
  tags                      = local.tags
}

module "monitoring" {
  source                    = "../../modules/monitoring"
  name                      = local.name
  vpc_id                    = module.vpc.vpc_id
  vpc_cidr                  = module.vpc.vpc_cidr
  private_subnet_id         = module.vpc.private_subnet_ids[0]
  vpn_security_group_id     = module.vpn.security_group_id
  cluster_security_group_id = module.eks.cluster_security_group_id
  region                    = var.region
  cluster_name              = module.eks.cluster_name
  cluster_endpoint          = module.eks.cluster_endpoint
  cluster_ca_certificate    = module.eks.cluster_ca_certificate
  instance_type             = var.monitoring_instance_type
  prometheus_config         = file("${local.monitoring}/prometheus.yml")
  alert_rules               = { "bookstore.rules.yml" = file("${local.monitoring}/rules/bookstore.rules.yml") }
  grafana_dashboards = {
    for f in fileset("${local.monitoring}/grafana/dashboards", "*.json") :
    f => file("${local.monitoring}/grafana/dashboards/${f}")
  }
  grafana_provisioning = {
    for f in fileset("${local.monitoring}/grafana/provisioning", "**/*.yml") :
    f => file("${local.monitoring}/grafana/provisioning/${f}")
  }
  tags = local.tags
}

# The API behind CloudFront only: an internal load balancer on the nodes' port of the
# Bookstore's NodePort Service, reached through a CloudFront VPC origin.
module "api_origin" {
  source                      = "../../modules/api-origin"
  name                        = local.name
  vpc_id                      = module.vpc.vpc_id
  private_subnet_ids          = module.vpc.private_subnet_ids
  private_subnet_cidrs        = var.private_subnet_cidrs
  node_security_group_id      = module.eks.cluster_security_group_id
  node_autoscaling_group_name = module.eks.node_autoscaling_group_name
  node_port                   = var.api_node_port
  tags                        = local.tags
}

module "frontend" {
  source     = "../../modules/frontend"
  name       = local.name
  web_dir    = "${local.repo_root}/bookstore-api/web"
  api_origin = { domain_name = module.api_origin.domain_name, vpc_origin_id = module.api_origin.vpc_origin_id }
  tags       = local.tags
}

# The API's write token (writes need it as a bearer token; reads are public), generated once and
# kept in Secrets Manager, encrypted with the database's key. The cluster side syncs it into the
# Secret the Bookstore's spec.auth.writeTokenSecretRef names. Rotate by putting a new value (two
# lines, old and new, during a rollover): the pods pick it up without a restart.
data "aws_secretsmanager_random_password" "write_token" {
  password_length     = 40
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "write_token" {
  #checkov:skip=CKV2_AWS_57:The write token is rotated by hand (clients must be given the new one); see the comment above.
  # A unique name, as the database secret's (a deleted name stays taken for the recovery window).
  name_prefix             = "${local.name}/api-write-token-"
  description             = "Bearer token(s) for writes to the bookstore API, one per line"
  kms_key_id              = module.rds.key_arn
  recovery_window_in_days = var.secret_recovery_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "write_token" {
  secret_id     = aws_secretsmanager_secret.write_token.id
  secret_string = data.aws_secretsmanager_random_password.write_token.random_password
  lifecycle {
    # Generated once: a new random value on every plan must not replace the token.
    ignore_changes = [secret_string]
  }
}

# The External Secrets Operator (installed on the cluster side) reads the database secrets (the
# API user's password for the Bookstore, the rotating master password for the job that keeps the
# API user in step) and the API's write token.
module "external_secrets" {
  source            = "../../modules/service-account-role"
  name              = "${local.name}-external-secrets"
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer       = module.eks.oidc_issuer
  namespace         = "external-secrets"
  service_account   = "external-secrets"
  policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
        Resource = [module.rds.app_user_secret_arn, module.rds.master_user_secret_arn, aws_secretsmanager_secret.write_token.arn]
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [module.rds.key_arn]
      },
    ]
  })
  tags = local.tags
}
