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
