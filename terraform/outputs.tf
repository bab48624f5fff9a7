output "bot_url" {
  description = "The bot's web port (Slack HTTP-mode events at /slack/events): incidentwatch-service."
  value       = "http://${var.node_ip}:${local.node_ports.bot}"
}

output "prometheus_url" {
  description = "Prometheus: prometheus-service."
  value       = "http://${var.node_ip}:${local.node_ports.prometheus}"
}

output "grafana_url" {
  description = "Grafana, with the IncidentWatch dashboard as its home page: grafana-service."
  value       = "http://${var.node_ip}:${local.node_ports.grafana}"
}
