data "aws_ami" "openvpn" {
  count       = var.ami_id == null ? 1 : 0
  most_recent = true
  owners      = ["aws-marketplace"]
  filter {
    name   = "name"
    values = ["OpenVPN Access Server*"]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

locals {
  ami_id = coalesce(var.ami_id, try(data.aws_ami.openvpn[0].id, null))
  client_ports = {
    "udp-1194" = { protocol = "udp", port = 1194 }
    "tcp-443"  = { protocol = "tcp", port = 443 }
  }
  client_rules = {
    for pair in setproduct(keys(local.client_ports), var.client_cidrs) :
    "${pair[0]}-${pair[1]}" => merge(local.client_ports[pair[0]], { cidr = pair[1] })
  }
}

resource "aws_security_group" "this" {
  name        = "${var.name}-vpn"
  description = "OpenVPN Access Server: VPN ports for clients, admin UI for admins"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each          = local.client_rules
  security_group_id = aws_security_group.this.id
  description       = "VPN ${each.value.protocol}/${each.value.port} from ${each.value.cidr}"
  ip_protocol       = each.value.protocol
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}

resource "aws_vpc_security_group_ingress_rule" "admin" {
  for_each          = toset(var.admin_cidrs)
  security_group_id = aws_security_group.this.id
  description       = "Admin UI from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 943
  to_port           = 943
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "vpc" {
  security_group_id = aws_security_group.this.id
  description       = "VPN clients' traffic into the VPC"
  ip_protocol       = "-1"
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS: licensing and updates"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# Session Manager access for maintenance, besides the Access Server's own admin UI.
module "role" {
  source = "../instance-role"
  name   = "${var.name}-vpn"
  tags   = var.tags
}

resource "aws_instance" "this" {
  #checkov:skip=CKV_AWS_88:The VPN server must be reachable from the internet; it gets an Elastic IP and only the VPN ports are open.
  ami                    = local.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.public_subnet_id
  vpc_security_group_ids = [aws_security_group.this.id]
  iam_instance_profile   = module.role.instance_profile_name
  # It routes VPN clients' packets into the VPC.
  source_dest_check = false
  monitoring        = true
  ebs_optimized     = true

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
  }

  tags = merge(var.tags, { Name = "${var.name}-vpn" })
}

resource "aws_eip" "this" {
  domain   = "vpc"
  instance = aws_instance.this.id
  tags     = merge(var.tags, { Name = "${var.name}-vpn" })
}
