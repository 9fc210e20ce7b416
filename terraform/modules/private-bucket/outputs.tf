output "id" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "regional_domain_name" {
  description = "Regional domain name of the bucket (a CloudFront S3 origin's domain)."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}

output "encryption" {
  description = "The default encryption, applied before any object is written (objects depend on it)."
  value       = aws_s3_bucket_server_side_encryption_configuration.this.id
}

output "posture" {
  description = "What keeps the bucket private: for reviews and the architecture tests."
  value = {
    public_access_blocked = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    force_destroy = aws_s3_bucket.this.force_destroy
    readers       = [for statement in jsondecode(aws_s3_bucket_policy.this.policy).Statement : statement.Principal if statement.Effect == "Allow"]
  }
}
