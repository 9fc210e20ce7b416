# prod: highly available. A NAT gateway per AZ, larger instances, multi-AZ database kept from
# deletion, two weeks of backups.
environment        = "prod"
region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b"]
vpc_cidr           = "10.1.0.0/16"
single_nat_gateway = false

public_subnet_cidrs  = ["10.1.0.0/20", "10.1.16.0/20"]
private_subnet_cidrs = ["10.1.128.0/19", "10.1.160.0/19"]

# Keep the Kubernetes API off the internet: reach it through the VPN.
eks_public_access_cidrs = []
node_instance_types     = ["t3.large"]
node_desired_size       = 2
node_min_size           = 1
node_max_size           = 3

db_instance_class        = "db.t4g.medium"
db_multi_az              = true
db_deletion_protection   = true
db_backup_retention_days = 14

vpn_admin_cidrs = ["203.0.113.0/24"]
# The VPN server's key pair (terraform/README.md: made before stage 1): SSH from vpn_admin_cidrs.
vpn_key_name             = "bookstore-prod-vpn"
monitoring_instance_type = "t3.medium"

api_image = "ghcr.io/bookstore-dev/bookstore-api:0.1.0"

# Three months of logs (audit included); a deleted secret can be restored for 7 days.
log_retention_days   = 90
secret_recovery_days = 7

# Who else may run kubectl (EKS access entries), e.g. your team's SSO role:
# admin_principal_arns = ["arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123456789abcdef"]
