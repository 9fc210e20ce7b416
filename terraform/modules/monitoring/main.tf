data "aws_region" "current" {}

data "aws_ssm_parameter" "debian" {
  name = "/aws/service/debian/release/12/latest/amd64"
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
    write_files = [for f in local.files : {
      path        = f.path
      encoding    = "b64"
      content     = base64encode(f.content)
      permissions = "0644"
    }]
    runcmd = [
      ["bash", "-c", templatefile("${path.module}/install.sh.tftpl", {
        prometheus_version = var.prometheus_version
        cluster_name       = var.cluster_name
        region             = data.aws_region.current.name
      })],
    ]
  }
}

data "cloudinit_config" "this" {
  gzip          = true
  base64_encode = true
  part {
    content_type = "text/cloud-config"
    content      = yamlencode(local.cloud_config)
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
      Resource = "arn:aws:eks:${data.aws_region.current.name}:*:cluster/${var.cluster_name}"
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

resource "aws_instance" "this" {
  ami                    = data.aws_ssm_parameter.debian.value
  instance_type          = var.instance_type
  subnet_id              = var.private_subnet_id
  vpc_security_group_ids = [aws_security_group.this.id]
  iam_instance_profile   = module.role.instance_profile_name
  user_data_base64       = data.cloudinit_config.this.rendered
  monitoring             = true
  ebs_optimized          = true

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
}
