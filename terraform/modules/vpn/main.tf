# By the Marketplace product (the one subscribed to), not by name: several products' images are
# called "OpenVPN Access Server ...", and an unsubscribed one fails with OptInRequired.
data "aws_ami" "openvpn" {
  count       = var.ami_id == null ? 1 : 0
  most_recent = true
  owners      = ["aws-marketplace"]
  filter {
    name   = "product-code"
    values = [var.marketplace_product_code]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

locals {
  ami_id = coalesce(var.ami_id, try(data.aws_ami.openvpn[0].id, null))
}

resource "aws_security_group" "this" {
  name        = "${var.name}-vpn"
  description = "OpenVPN Access Server: VPN ports for clients, admin UI for admins"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

# VPN clients on UDP 1194 only. TCP 443 stays closed: the Access Server serves its web UI (the
# admin UI too) on 443, which must not face every client address.
resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each          = toset(var.client_cidrs)
  security_group_id = aws_security_group.this.id
  description       = "OpenVPN (UDP 1194) from ${each.value}"
  ip_protocol       = "udp"
  from_port         = 1194
  to_port           = 1194
  cidr_ipv4         = each.value
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

# The way in when the server's setup went wrong (the web UI then may not answer): SSH with the
# key pair, from the admin ranges only, and only when a key pair is given. The Marketplace image
# is not known to run the SSM agent, so Session Manager is not relied on.
resource "aws_vpc_security_group_ingress_rule" "ssh" {
  for_each          = var.key_name == null ? toset([]) : toset(var.admin_cidrs)
  security_group_id = aws_security_group.this.id
  description       = "SSH (key pair ${var.key_name}) from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
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

# The address first: the Access Server puts it in the client profiles it hands out.
resource "aws_eip" "this" {
  domain = "vpc"
  tags   = merge(var.tags, { Name = "${var.name}-vpn" })
}

resource "aws_instance" "this" {
  #checkov:skip=CKV_AWS_88:The VPN server must be reachable from the internet; it gets an Elastic IP and only the VPN port is open.
  ami                    = local.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.public_subnet_id
  vpc_security_group_ids = [aws_security_group.this.id]
  iam_instance_profile   = module.role.instance_profile_name
  key_name               = var.key_name
  # Read by the Access Server at first boot: clients reach the VPC (through the server's NAT)
  # and resolve names with the VPC's resolver (the EKS private endpoint's name), while their
  # other traffic stays on their own network.
  user_data = templatefile("${path.module}/user-data.tftpl", {
    public_hostname = aws_eip.this.public_ip
    vpc_cidr        = var.vpc_cidr
  })
  user_data_replace_on_change = false
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

  lifecycle {
    # A newer image of the product does not replace a configured server.
    ignore_changes = [ami]
  }
}

resource "aws_eip_association" "this" {
  allocation_id = aws_eip.this.id
  instance_id   = aws_instance.this.id
}

# kubectl through the VPN: clients' traffic leaves the server NATed to its own address, so the
# cluster admits this security group on the Kubernetes API's port.
resource "aws_vpc_security_group_ingress_rule" "cluster_api" {
  security_group_id            = var.cluster_security_group_id
  description                  = "Kubernetes API from VPN clients"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.this.id
}
