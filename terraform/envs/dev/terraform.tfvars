# dev: cheap. One NAT gateway, small instances, single-AZ database without deletion protection.
environment        = "dev"
region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b"]
single_nat_gateway = true

# Replace with the address ranges Terraform and kubectl run from (documentation range here).
eks_public_access_cidrs = ["203.0.113.0/24"]
node_instance_types     = ["t3.medium"]

db_instance_class        = "db.t4g.micro"
db_multi_az              = false
db_deletion_protection   = false
db_backup_retention_days = 1

vpn_admin_cidrs = ["203.0.113.0/24"]
# The VPN server's key pair (terraform/README.md: made before stage 1): SSH from vpn_admin_cidrs.
vpn_key_name             = "bookstore-dev-vpn"
monitoring_instance_type = "t3.small"

api_image = "ghcr.io/bookstore-dev/bookstore-api:0.1.0"

# Short-lived: two weeks of logs, secrets deleted at once on destroy (so that the environment can
# be made again the same day).
log_retention_days   = 14
secret_recovery_days = 0

# Who else may run kubectl (EKS access entries), e.g. your team's SSO role:
# admin_principal_arns = ["arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123456789abcdef"]
