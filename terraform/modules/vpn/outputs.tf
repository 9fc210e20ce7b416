output "public_ip" {
  description = "Elastic IP VPN clients connect to."
  value       = aws_eip.this.public_ip
}

output "admin_url" {
  description = "URL of the Access Server admin UI."
  value       = "https://${aws_eip.this.public_ip}:943/admin"
}

output "security_group_id" {
  description = "Security group of the VPN server: the monitoring host and the cluster admit it."
  value       = aws_security_group.this.id
}

output "client_ingress" {
  description = "Every port open on the VPN server and from where: for reviews and the architecture tests."
  value = concat(
    [for r in aws_vpc_security_group_ingress_rule.clients : { port = r.from_port, protocol = r.ip_protocol, cidr = r.cidr_ipv4 }],
    [for r in aws_vpc_security_group_ingress_rule.admin : { port = r.from_port, protocol = r.ip_protocol, cidr = r.cidr_ipv4 }],
    [for r in aws_vpc_security_group_ingress_rule.ssh : { port = r.from_port, protocol = r.ip_protocol, cidr = r.cidr_ipv4 }],
  )
}
