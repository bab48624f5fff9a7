output "bot_url" {
  description = "The bot's web port (Slack HTTP-mode events at /slack/events, the HTTP API at /api/v1, its docs at /docs): incidentwatch-service."
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

output "alertmanager_port_forward" {
  description = "Alertmanager has no NodePort (only Prometheus may post alerts to it); run this, then open http://localhost:9093."
  value       = "kubectl --context ${var.kube_context} -n ${local.namespace} port-forward service/alertmanager 9093:9093"
}
