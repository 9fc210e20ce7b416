output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "IDs of the two public subnets."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the two private subnets."
  value       = aws_subnet.private[*].id
}

output "nat_public_ips" {
  description = "Public addresses of the NAT gateways (the egress addresses of the private subnets)."
  value       = aws_eip.nat[*].public_ip
}

output "layout" {
  description = "The subnets and where their traffic goes: for reviews and the architecture tests."
  value = {
    public_subnets  = [for s in aws_subnet.public : { az = s.availability_zone, cidr = s.cidr_block }]
    private_subnets = [for s in aws_subnet.private : { az = s.availability_zone, cidr = s.cidr_block }]
    nat_gateways    = length(aws_nat_gateway.this)
    # Each public subnet's default route: the internet gateway.
    public_default_routes = [for r in aws_route_table.public.route : r.gateway_id if r.cidr_block == "0.0.0.0/0"]
    internet_gateway      = aws_internet_gateway.this.id
    # Each private subnet's default route: a NAT gateway in a public subnet.
    private_default_routes = [for t in aws_route_table.private : one([for r in t.route : r.nat_gateway_id if r.cidr_block == "0.0.0.0/0"])]
    nat_gateway_ids        = aws_nat_gateway.this[*].id
    nat_gateway_subnets    = aws_nat_gateway.this[*].subnet_id
    public_subnet_ids      = aws_subnet.public[*].id
  }
}

output "flow_log_retention_days" {
  description = "Days the flow logs are kept."
  value       = aws_cloudwatch_log_group.flow_logs.retention_in_days
}
