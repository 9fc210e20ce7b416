# The API's way in: an internal Network Load Balancer in the private subnets, in front of a
# fixed node port of the worker nodes (the Bookstore's Service is a NodePort Service on it), and
# a CloudFront VPC origin for it. Nothing on the internet reaches the load balancer: viewers
# reach the API only through CloudFront, over HTTPS, and CloudFront reaches it over AWS's
# network inside the VPC. Terraform owns the load balancer, so CloudFront knows it in the same
# apply and a destroy removes it (no Kubernetes controller has to be waited for).

resource "aws_security_group" "this" {
  name        = "${var.name}-api-lb"
  description = "The API's internal load balancer: CloudFront's VPC origin in, the nodes' port out"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

# CloudFront's origin-facing addresses, as AWS keeps them (a managed prefix list): the rule a VPC
# origin's load balancer needs, and nothing wider. (A VPC origin needs a load balancer with a
# security group, which Kubernetes' built-in service controller does not give an NLB: one more
# reason Terraform makes this one.)
data "aws_ec2_managed_prefix_list" "cloudfront" {
  name = "com.amazonaws.global.cloudfront.origin-facing"
}

resource "aws_vpc_security_group_ingress_rule" "from_cloudfront" {
  #checkov:skip=CKV_AWS_260:The source is CloudFront's origin-facing prefix list, not 0.0.0.0/0 (checkov reads a rule without a CIDR as open).
  security_group_id = aws_security_group.this.id
  description       = "HTTP from CloudFront (VPC origin)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  prefix_list_id    = data.aws_ec2_managed_prefix_list.cloudfront.id
}

resource "aws_vpc_security_group_egress_rule" "to_nodes" {
  security_group_id            = aws_security_group.this.id
  description                  = "The API's node port on the worker nodes"
  ip_protocol                  = "tcp"
  from_port                    = var.node_port
  to_port                      = var.node_port
  referenced_security_group_id = var.node_security_group_id
}

resource "aws_vpc_security_group_ingress_rule" "nodes_from_lb" {
  security_group_id            = var.node_security_group_id
  description                  = "The API's node port from its load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.node_port
  to_port                      = var.node_port
  referenced_security_group_id = aws_security_group.this.id
}

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_150:It holds no state and goes with its environment; `deletion_protection` turns protection on where wanted.
  #checkov:skip=CKV2_AWS_20:A Network Load Balancer (TCP): there is no HTTP to redirect; viewers are held to HTTPS by CloudFront.
  #checkov:skip=CKV_AWS_91:Access logs of a TCP load balancer hold only connections from CloudFront; CloudFront's own logs (see the frontend module) are the ones that name viewers.
  name                             = "${var.name}-api"
  internal                         = true
  load_balancer_type               = "network"
  subnets                          = var.private_subnet_ids
  security_groups                  = [aws_security_group.this.id]
  enable_cross_zone_load_balancing = true
  enable_deletion_protection       = var.deletion_protection
  tags                             = var.tags
}

resource "aws_lb_target_group" "this" {
  name                 = "${var.name}-api"
  port                 = var.node_port
  protocol             = "TCP"
  target_type          = "instance"
  vpc_id               = var.vpc_id
  deregistration_delay = 30
  health_check {
    protocol            = "TCP"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
  tags = var.tags
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:TCP to an internal load balancer reachable only from CloudFront's VPC origin, inside the VPC; viewers use HTTPS to CloudFront.
  #checkov:skip=CKV2_AWS_74:As CKV_AWS_2: no TLS listener, so no cipher policy.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
  tags = var.tags
}

# The worker nodes as targets, as the node group scales.
resource "aws_autoscaling_attachment" "nodes" {
  #checkov:skip=CKV2_AWS_15:The Auto Scaling group is EKS's (the managed node group replaces unhealthy nodes itself); the target group's health check takes a node out of service.
  autoscaling_group_name = var.node_autoscaling_group_name
  lb_target_group_arn    = aws_lb_target_group.this.arn
}

resource "aws_cloudfront_vpc_origin" "this" {
  vpc_origin_endpoint_config {
    name                   = "${var.name}-api"
    arn                    = aws_lb.this.arn
    http_port              = 80
    https_port             = 443
    origin_protocol_policy = "http-only"
    origin_ssl_protocols {
      items    = ["TLSv1.2"]
      quantity = 1
    }
  }
  tags = var.tags
  timeouts {
    # Its deployment to CloudFront's edges can outlast the provider's 15 minutes.
    create = "30m"
    delete = "30m"
  }
  lifecycle {
    # CloudFront refuses any update of a VPC origin its distribution uses, tags included.
    ignore_changes = [tags]
  }
}
