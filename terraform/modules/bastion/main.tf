data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

resource "aws_security_group" "this" {
  name        = "${var.name}-bastion"
  description = "Bastion: SSH from listed CIDRs only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  for_each          = toset(var.ssh_allowed_cidrs)
  security_group_id = aws_security_group.this.id
  description       = "SSH from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS: Session Manager and package updates"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "inside" {
  for_each          = toset(["22", "3306"])
  security_group_id = aws_security_group.this.id
  description       = "Port ${each.value} inside the VPC"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  cidr_ipv4         = var.vpc_cidr
}

module "role" {
  source = "../instance-role"
  name   = "${var.name}-bastion"
  tags   = var.tags
}

resource "aws_instance" "this" {
  #checkov:skip=CKV_AWS_88:A bastion is the entry point into the VPC; its security group admits only the listed CIDRs (or nothing, with Session Manager).
  ami                         = data.aws_ssm_parameter.al2023.value
  instance_type               = var.instance_type
  subnet_id                   = var.public_subnet_id
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = module.role.instance_profile_name
  key_name                    = var.key_name
  associate_public_ip_address = true
  # A MySQL client that speaks the database's TLS, and the RDS certificate authorities to verify
  # it with (Amazon Linux ships MariaDB's client: `--ssl-verify-server-cert`, not `--ssl-mode`).
  user_data                   = <<-SCRIPT
    #!/bin/bash
    set -euo pipefail
    dnf install -y -q mariadb105
    install -d /etc/pki/rds
    curl -fsSL -o /etc/pki/rds/global-bundle.pem https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
  SCRIPT
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
  }

  tags = merge(var.tags, { Name = "${var.name}-bastion" })

  lifecycle {
    # The AMI parameter names the latest Amazon Linux: a newer image does not replace the
    # bastion (replace it on purpose with `terraform apply -replace=...`).
    ignore_changes = [ami]
  }
}
