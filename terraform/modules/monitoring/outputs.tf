output "private_ip" {
  description = "Private address of the monitoring host (reach it through the VPN)."
  value       = aws_instance.this.private_ip
}

output "grafana_url" {
  description = "Grafana, through the VPN."
  value       = "http://${aws_instance.this.private_ip}:3000"
}

output "prometheus_url" {
  description = "Prometheus, through the VPN."
  value       = "http://${aws_instance.this.private_ip}:9090"
}

output "config_bucket" {
  description = "Bucket holding the host's configuration (synced every minute)."
  value       = module.config_bucket.id
}

output "posture" {
  description = "How the host is made and reached: for reviews and the tests."
  value = {
    bootstrap_sha                  = sha256(local.bootstrap)
    config_keys                    = sort(keys(aws_s3_object.config))
    ami_parameter                  = data.aws_ssm_parameter.al2023.name
    stop_instance_before_detaching = aws_volume_attachment.data.stop_instance_before_detaching
    cluster_ports                  = [for r in aws_vpc_security_group_ingress_rule.cluster : r.from_port]
  }
}
