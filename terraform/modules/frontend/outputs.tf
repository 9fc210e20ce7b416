output "url" {
  description = "HTTPS URL of the web page."
  value       = "https://${aws_cloudfront_distribution.this.domain_name}"
}

output "bucket_name" {
  description = "Bucket holding the page's files."
  value       = module.bucket.id
}

output "distribution_id" {
  description = "CloudFront distribution ID (for cache invalidations)."
  value       = aws_cloudfront_distribution.this.id
}

output "posture" {
  description = "What keeps the page's bucket private behind CloudFront: for reviews and the architecture tests."
  value = {
    public_access_blocked = module.bucket.posture.public_access_blocked
    origin_access_control = aws_cloudfront_origin_access_control.this.signing_behavior
    bucket_readers        = module.bucket.posture.readers
    force_destroy         = module.bucket.posture.force_destroy
    api_behaviours = [for b in aws_cloudfront_distribution.this.ordered_cache_behavior : {
      path   = b.path_pattern
      viewer = b.viewer_protocol_policy
      origin = b.target_origin_id
    } if b.target_origin_id == "api"]
    api_origins = [for o in aws_cloudfront_distribution.this.origin : {
      vpc_origin    = length(o.vpc_origin_config) > 0
      custom_origin = length(o.custom_origin_config) > 0
    } if o.origin_id == "api"]
  }
}
