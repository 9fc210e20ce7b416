data "aws_ssm_parameter" "debian" {
  name = "/aws/service/debian/release/12/latest/amd64"
}

data "aws_subnet" "this" {
  id = var.private_subnet_id
}

locals {
  prometheus_source = yamldecode(var.prometheus_config)
  # From outside the cluster, discovery talks to the EKS API with a token the host refreshes.
  prometheus = merge(local.prometheus_source, {
    rule_files = ["/etc/prometheus/rules/*.yml"]
    scrape_configs = [for job in local.prometheus_source.scrape_configs : merge(job, {
      kubernetes_sd_configs = [for sd in lookup(job, "kubernetes_sd_configs", []) : merge(sd, {
        api_server    = var.cluster_endpoint
        authorization = { credentials_file = "/etc/prometheus/eks-token" }
        tls_config    = { ca_file = "/etc/prometheus/eks-ca.crt" }
      })]
    })]
  })

  files = concat(
    [
      { path = "/etc/prometheus/prometheus.yml", content = yamlencode(local.prometheus) },
      { path = "/etc/prometheus/eks-ca.crt", content = base64decode(var.cluster_ca_certificate) },
    ],
    [for name, content in var.alert_rules : { path = "/etc/prometheus/rules/${name}", content = content }],
    [for path, content in var.grafana_provisioning : { path = "/etc/grafana/provisioning/${path}", content = content }],
    [for name, content in var.grafana_dashboards : { path = "/var/lib/grafana/dashboards/bookstore/${name}", content = content }],
  )

  cloud_config = {
    package_update = true
    packages       = ["curl", "gnupg", "awscli"]
    write_files    = [for f in local.files : { path = f.path, content = f.content, permissions = "0644" }]
    runcmd = [
      ["bash", "-c", templatefile("${path.module}/install.sh.tftpl", {
        prometheus_version = var.prometheus_version
        cluster_name       = var.cluster_name
        region             = var.region
        data_volume_id     = aws_ebs_volume.data.id
      })],
    ]
  }
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
# new configuration (user data) replaces the instance, not the history.
module "key" {
  source      = "../kms-key"
  description = "${var.name} monitoring data volume"
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
  ami                    = data.aws_ssm_parameter.debian.value
  instance_type          = var.instance_type
  subnet_id              = var.private_subnet_id
  vpc_security_group_ids = [aws_security_group.this.id]
  iam_instance_profile   = module.role.instance_profile_name
  # cloud-config, gzipped (cloud-init unpacks it) to stay under the 16 KB of user data.
  user_data_base64            = base64gzip("#cloud-config\n${yamlencode(local.cloud_config)}")
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

  lifecycle {
    # The AMI parameter names the latest Debian image: a newer one does not replace the host
    # (replace it on purpose with `terraform apply -replace=...`).
    ignore_changes = [ami]
  }
}

resource "aws_volume_attachment" "data" {
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.this.id
}

# Scraping and discovery inside the cluster: the Kubernetes API, the API pods' /metrics (8080,
# also the operator's) and the node-exporter sidecars (9100), on the cluster security group that
# EKS puts on the control plane and the managed nodes.
resource "aws_vpc_security_group_ingress_rule" "cluster" {
  for_each                     = { kubernetes-api = 443, metrics = 8080, node-exporter = 9100 }
  security_group_id            = var.cluster_security_group_id
  description                  = "${each.key} from the monitoring host"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = aws_security_group.this.id
}
