output "domain_name" {
  description = "DNS name of the internal load balancer (CloudFront's origin domain)."
  value       = aws_lb.this.dns_name
}

output "vpc_origin_id" {
  description = "CloudFront VPC origin of the load balancer."
  value       = aws_cloudfront_vpc_origin.this.id
}

output "node_port" {
  description = "Node port the targets listen on (the Bookstore Service's spec.service.nodePort)."
  value       = var.node_port
}

output "trusted_proxies" {
  description = "What sits in front of the API pods: the private subnets (the nodes, which forward node-port traffic, and CloudFront's VPC origin interfaces) and CloudFront's origin-facing ranges. The API's TRUSTED_PROXIES, so that its rate limits count viewers (CloudFront's X-Forwarded-For), not CloudFront."
  value       = concat(var.private_subnet_cidrs, [for entry in data.aws_ec2_managed_prefix_list.cloudfront.entries : entry.cidr])
}

output "posture" {
  description = "What keeps the API behind CloudFront: for reviews and the architecture tests."
  value = {
    internal             = aws_lb.this.internal
    ingress_cidrs        = [for r in [aws_vpc_security_group_ingress_rule.from_cloudfront] : r.cidr_ipv4 if r.cidr_ipv4 != null]
    ingress_prefix_lists = [aws_vpc_security_group_ingress_rule.from_cloudfront.prefix_list_id]
    origin_protocol      = aws_cloudfront_vpc_origin.this.vpc_origin_endpoint_config[0].origin_protocol_policy
    target_port          = aws_lb_target_group.this.port
  }
}
