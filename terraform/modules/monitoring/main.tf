# Amazon Linux 2023: its image runs the SSM agent from boot, so Session Manager reaches the host
# even when cloud-init fails (the host has no key pair and no inbound SSH).
data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

data "aws_caller_identity" "current" {}

data "aws_subnet" "this" {
  id = var.private_subnet_id
}

locals {
  prometheus_source = yamldecode(var.prometheus_config)
  # From outside the cluster, discovery talks to the EKS API with a token the host refreshes.
  prometheus = merge(local.prometheus_source, {
    rule_files = ["${local.config_dir}/prometheus/rules/*.yml"]
    scrape_configs = [for job in local.prometheus_source.scrape_configs : merge(job, {
      kubernetes_sd_configs = [for sd in lookup(job, "kubernetes_sd_configs", []) : merge(sd, {
        api_server    = var.cluster_endpoint
        authorization = { credentials_file = "/etc/prometheus/eks-token" }
        tls_config    = { ca_file = "${local.config_dir}/prometheus/eks-ca.crt" }
      })]
    })]
  })

  # The configuration lives in a bucket that the host syncs every minute, not in the instance's
  # user data: a change under deploy/monitoring updates objects, and the host keeps running.
  config_dir = "/etc/monitoring"
  config_files = merge(
    {
      "prometheus/prometheus.yml" = yamlencode(local.prometheus)
      "prometheus/eks-ca.crt"     = base64decode(var.cluster_ca_certificate)
    },
    { for name, content in var.alert_rules : "prometheus/rules/${name}" => content },
    { for path, content in var.grafana_provisioning : "grafana/provisioning/${path}" => content },
    { for name, content in var.grafana_dashboards : "grafana/dashboards/${name}" => content },
  )

  # What makes the host: software and where its configuration is. Changing it replaces the
  # instance (the data volume stays).
  bootstrap = templatefile("${path.module}/install.sh.tftpl", {
    prometheus_version = var.prometheus_version
    cluster_name       = var.cluster_name
    region             = var.region
    data_volume_id     = aws_ebs_volume.data.id
    config_bucket      = module.config_bucket.id
    config_dir         = local.config_dir
  })
}

resource "aws_security_group" "this" {
  name        = "${var.name}-monitoring"
  description = "Grafana and Prometheus, reachable through the VPN only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_vpn" {
  for_each                     = { grafana = 3000, prometheus = 9090 }
  security_group_id            = aws_security_group.this.id
  description                  = "${each.key} from VPN clients"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = var.vpn_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "vpc" {
  security_group_id = aws_security_group.this.id
  description       = "Scrapes and the Kubernetes API inside the VPC"
  ip_protocol       = "-1"
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "internet" {
  for_each          = { http = 80, https = 443 }
  security_group_id = aws_security_group.this.id
  description       = "${each.key} for packages and AWS APIs (through the NAT)"
  ip_protocol       = "tcp"
  from_port         = each.value
  to_port           = each.value
  cidr_ipv4         = "0.0.0.0/0"
}

module "role" {
  source = "../instance-role"
  name   = "${var.name}-monitoring"
  tags   = var.tags
}

resource "aws_iam_role_policy" "describe_cluster" {
  name = "describe-cluster"
  role = module.role.role_name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["eks:DescribeCluster"]
      Resource = "arn:aws:eks:${var.region}:*:cluster/${var.cluster_name}"
    }]
  })
}

resource "aws_iam_role_policy" "read_config" {
  name = "read-config"
  role = module.role.role_name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = module.config_bucket.arn
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "${module.config_bucket.arn}/*"
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = module.key.arn
      },
    ]
  })
}

# The configuration files (Prometheus, its rules, Grafana's provisioning and dashboards).
module "config_bucket" {
  source      = "../private-bucket"
  name        = "${var.name}-monitoring-config-${data.aws_caller_identity.current.account_id}"
  kms_key_arn = module.key.arn
  tags        = var.tags
}

resource "aws_s3_object" "config" {
  for_each   = local.config_files
  bucket     = module.config_bucket.id
  key        = each.key
  content    = each.value
  depends_on = [module.config_bucket.encryption]
}

# Read-only access to the cluster for service discovery (pods, services, endpoints).
resource "aws_eks_access_entry" "this" {
  cluster_name  = var.cluster_name
  principal_arn = module.role.role_arn
  tags          = var.tags
}

resource "aws_eks_access_policy_association" "view" {
  cluster_name  = var.cluster_name
  principal_arn = module.role.role_arn
  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
  access_scope {
    type = "cluster"
  }
  depends_on = [aws_eks_access_entry.this]
}

# Prometheus' and Grafana's data live on a volume of their own, which outlives the instance: a
# replaced instance (new bootstrap) mounts the same history.
module "key" {
  source      = "../kms-key"
  description = "${var.name} monitoring data volume and configuration"
  tags        = var.tags
}

resource "aws_ebs_volume" "data" {
  availability_zone = data.aws_subnet.this.availability_zone
  size              = var.data_volume_size_gb
  type              = "gp3"
  encrypted         = true
  kms_key_id        = module.key.arn
  tags              = merge(var.tags, { Name = "${var.name}-monitoring-data" })
}

resource "aws_instance" "this" {
  ami                         = data.aws_ssm_parameter.al2023.value
  instance_type               = var.instance_type
  subnet_id                   = var.private_subnet_id
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = module.role.instance_profile_name
  user_data_base64            = base64gzip(local.bootstrap)
  user_data_replace_on_change = true
  monitoring                  = true
  ebs_optimized               = true

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
    volume_size = var.volume_size_gb
  }

  tags = merge(var.tags, { Name = "${var.name}-monitoring" })
  # Its first boot reads the configuration: the objects and the right to read them come first.
  depends_on = [aws_iam_role_policy.read_config, aws_s3_object.config]

  lifecycle {
    # The AMI parameter names the latest Amazon Linux image: a newer one does not replace the
    # host (replace it on purpose with `terraform apply -replace=...`).
    ignore_changes = [ami]
  }
}

resource "aws_volume_attachment" "data" {
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.this.id
  # A mounted volume does not detach from a running instance (the detach waits, then times
  # out): stop the old instance first when it is replaced.
  stop_instance_before_detaching = true
}

# Scraping and discovery inside the cluster: the Kubernetes API, the operator's /metrics (8080),
# the API pods' (8081) and the node-exporter sidecars (9100), on the cluster security group that
# EKS puts on the control plane and the managed nodes.
resource "aws_vpc_security_group_ingress_rule" "cluster" {
  for_each                     = { kubernetes-api = 443, operator-metrics = 8080, api-metrics = 8081, node-exporter = 9100 }
  security_group_id            = var.cluster_security_group_id
  description                  = "${each.key} from the monitoring host"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = aws_security_group.this.id
}
