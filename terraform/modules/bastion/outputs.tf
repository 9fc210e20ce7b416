output "instance_id" {
  description = "ID of the bastion instance (for `aws ssm start-session --target`)."
  value       = aws_instance.this.id
}

output "public_ip" {
  description = "Public address of the bastion."
  value       = aws_instance.this.public_ip
}

output "security_group_id" {
  description = "Security group of the bastion (admitted by the database)."
  value       = aws_security_group.this.id
}

output "user_data" {
  description = "The bastion's first-boot script (the database client and the RDS certificate authorities): for the tests."
  value       = aws_instance.this.user_data
}

output "ssh_ingress_cidrs" {
  description = "Address ranges SSH is open to (empty: Session Manager only): for reviews and the architecture tests."
  value       = [for r in aws_vpc_security_group_ingress_rule.ssh : r.cidr_ipv4]
}
