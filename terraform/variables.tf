variable "kubeconfig_path" {
  description = "Path to the kubeconfig that reaches the cluster (`minikube start` writes ~/.kube/config)."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "kubeconfig context to deploy to."
  type        = string
  default     = "minikube"
}

variable "image" {
  description = "The bot's image, name:tag (built into Minikube with `minikube image build -t incidentwatch:local .`)."
  type        = string
  default     = "incidentwatch:local"

  validation {
    condition     = can(regex("^[^@\\s]+:[^:/@\\s]+$", var.image))
    error_message = "The image must be name:tag, e.g. incidentwatch:local or registry.example.com/incidentwatch:1.2.3."
  }
}

variable "node_ip" {
  description = "The address the NodePorts answer on, for the output URLs: `minikube ip` (192.168.49.2 with the docker driver)."
  type        = string
  default     = "192.168.49.2"
}

variable "slack_bot_token" {
  description = "Slack bot token (xoxb-...)."
  type        = string
  sensitive   = true

  validation {
    condition     = startswith(var.slack_bot_token, "xoxb-")
    error_message = "slack_bot_token must be a bot token (xoxb-...)."
  }
}

variable "slack_app_token" {
  description = "Slack app-level token (xapp-...) for Socket Mode; leave null for HTTP mode."
  type        = string
  sensitive   = true
  default     = null
}

variable "slack_signing_secret" {
  description = "Slack signing secret, required in HTTP mode."
  type        = string
  sensitive   = true
  default     = null
}

variable "api_token" {
  description = "Bearer token of the bot's HTTP API, also sent by Alertmanager to its webhook (Secret incidentwatch-api): `openssl rand -hex 24`."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[!-~]{32,}$", var.api_token))
    error_message = "api_token must be at least 32 printable characters without spaces, e.g. the output of `openssl rand -hex 24`."
  }
}

variable "grafana_admin_user" {
  description = "Grafana admin user name."
  type        = string
  default     = "admin"
}

variable "grafana_admin_password" {
  description = "Grafana admin password (at least 12 characters)."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.grafana_admin_password) >= 12
    error_message = "grafana_admin_password must have at least 12 characters."
  }
}
