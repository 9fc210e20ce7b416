output "role_name" {
  description = "Name of the role (to attach more policies)."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the role."
  value       = aws_iam_role.this.arn
}

output "instance_profile_name" {
  description = "Instance profile to give the EC2 instance."
  value       = aws_iam_instance_profile.this.name
}
