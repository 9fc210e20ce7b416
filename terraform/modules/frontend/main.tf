data "aws_caller_identity" "current" {}

locals {
  content_types = {
    html = "text/html; charset=utf-8"
    js   = "text/javascript; charset=utf-8"
    css  = "text/css; charset=utf-8"
  }
  # The page's files, without its tests and without config.js, which is written below.
  files = [for f in fileset(var.web_dir, "*.{html,js,css}") : f if f != "config.js"]
}

resource "aws_kms_key" "this" {
  description         = "${var.name} web page bucket"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudFrontReads"
        Effect    = "Allow"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Action    = ["kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.this.arn } }
      },
    ]
  })
  tags = var.tags
}

# The page's files, readable by this distribution only (origin access control).
module "bucket" {
  source      = "../private-bucket"
  name        = "${var.name}-web-${data.aws_caller_identity.current.account_id}"
  kms_key_arn = aws_kms_key.this.arn
  policy_statements = [{
    Sid       = "CloudFrontReadsObjects"
    Effect    = "Allow"
    Principal = { Service = "cloudfront.amazonaws.com" }
    Action    = "s3:GetObject"
    Resource  = "arn:aws:s3:::${var.name}-web-${data.aws_caller_identity.current.account_id}/*"
    Condition = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.this.arn } }
  }]
  tags = var.tags
}

# A new version of the page reaches browsers within 5 minutes (CloudFront honours max-age).
resource "aws_s3_object" "files" {
  for_each      = toset(local.files)
  bucket        = module.bucket.id
  key           = each.value
  source        = "${var.web_dir}/${each.value}"
  source_hash   = filemd5("${var.web_dir}/${each.value}")
  content_type  = local.content_types[regex("[a-z]+$", each.value)]
  cache_control = "public, max-age=300"
  depends_on    = [module.bucket.encryption]
}

# Never cached (its own cache behaviour below): a changed API address applies at once.
resource "aws_s3_object" "config" {
  bucket        = module.bucket.id
  key           = "config.js"
  content       = "window.BOOKSTORE_API_URL = ${jsonencode(var.api_url)};\n"
  content_type  = local.content_types.js
  cache_control = "no-store"
  depends_on    = [module.bucket.encryption]
}

resource "aws_cloudfront_origin_access_control" "this" {
  name                              = "${var.name}-web"
  description                       = "CloudFront reads the page's bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "this" {
  #checkov:skip=CKV_AWS_259:HSTS is set (one year, subdomains) without `preload`: that asks browsers to hard-code the whole domain, which for *.cloudfront.net is not ours to ask.
  name = "${var.name}-web-security"
  security_headers_config {
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      override                   = true
    }
    referrer_policy {
      referrer_policy = "same-origin"
      override        = true
    }
  }
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

# Everything the API needs from a request (query string, Authorization and other headers), but
# the Host header, which must name the load balancer.
data "aws_cloudfront_origin_request_policy" "all_but_host" {
  name = "Managed-AllViewerExceptHostHeader"
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_68:A static, read-only page with no forms posting to this origin; WAF's cost is not justified here.
  #checkov:skip=CKV_AWS_86:Access logging needs a log bucket; enable it together with one when traffic analysis is wanted.
  #checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate is used, whose TLS policy CloudFront fixes (TLSv1 floor); a custom domain with an ACM certificate would set TLSv1.2_2021.
  #checkov:skip=CKV_AWS_310:One S3 origin; S3 is itself multi-AZ, a failover origin adds a second bucket to keep in sync.
  #checkov:skip=CKV_AWS_374:The catalogue is public everywhere; no geo restriction is wanted.
  #checkov:skip=CKV2_AWS_47:No WAF (see CKV_AWS_68).
  #checkov:skip=CKV2_AWS_42:The default CloudFront certificate (see CKV_AWS_174).
  enabled             = true
  comment             = "${var.name} bookstore web page"
  default_root_object = "index.html"
  price_class         = var.price_class
  http_version        = "http2and3"

  origin {
    domain_name              = module.bucket.regional_domain_name
    origin_id                = "web"
    origin_access_control_id = aws_cloudfront_origin_access_control.this.id
  }

  # The API's internal load balancer, through its VPC origin (modules/api-origin): browsers
  # reach the API over HTTPS on the page's own origin (no mixed content, no CORS), and nothing
  # reaches it but CloudFront.
  dynamic "origin" {
    for_each = var.api_origin == null ? [] : [var.api_origin]
    content {
      domain_name = origin.value.domain_name
      origin_id   = "api"
      vpc_origin_config {
        vpc_origin_id = origin.value.vpc_origin_id
      }
    }
  }

  dynamic "ordered_cache_behavior" {
    for_each = var.api_origin == null ? [] : ["/api/*"]
    content {
      path_pattern               = ordered_cache_behavior.value
      target_origin_id           = "api"
      viewer_protocol_policy     = "https-only"
      allowed_methods            = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
      cached_methods             = ["GET", "HEAD"]
      compress                   = true
      cache_policy_id            = data.aws_cloudfront_cache_policy.disabled.id
      origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_but_host.id
      response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
    }
  }

  ordered_cache_behavior {
    path_pattern               = "/config.js"
    target_origin_id           = "web"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.disabled.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
  }

  default_cache_behavior {
    target_origin_id           = "web"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }

  tags = var.tags
}

# The bucket's resources moved into the private-bucket module: state follows, nothing is remade.
moved {
  from = aws_s3_bucket.this
  to   = module.bucket.aws_s3_bucket.this
}
moved {
  from = aws_s3_bucket_public_access_block.this
  to   = module.bucket.aws_s3_bucket_public_access_block.this
}
moved {
  from = aws_s3_bucket_ownership_controls.this
  to   = module.bucket.aws_s3_bucket_ownership_controls.this
}
moved {
  from = aws_s3_bucket_versioning.this
  to   = module.bucket.aws_s3_bucket_versioning.this
}
moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this
  to   = module.bucket.aws_s3_bucket_server_side_encryption_configuration.this
}
moved {
  from = aws_s3_bucket_lifecycle_configuration.this
  to   = module.bucket.aws_s3_bucket_lifecycle_configuration.this
}
moved {
  from = aws_s3_bucket_policy.this
  to   = module.bucket.aws_s3_bucket_policy.this
}
