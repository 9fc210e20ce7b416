output "public_ip" {
  description = "Elastic IP VPN clients connect to."
  value       = aws_eip.this.public_ip
}

output "admin_url" {
  description = "URL of the Access Server admin UI."
  value       = "https://${aws_eip.this.public_ip}:943/admin"
}

output "security_group_id" {
  description = "Security group of the VPN server: the monitoring host admits it."
  value       = aws_security_group.this.id
}
