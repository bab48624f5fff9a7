# The IncidentWatch stack on Minikube, from the same manifests as `kubectl apply -k k8s/`:
# kustomize builds ../k8s and every object it yields is applied as is; only the bot's image is
# set from var.image. The three Secrets, which k8s/ never contains, are made from variables.

locals {
  namespace  = "monitoring"
  image_name = replace(var.image, "/:[^:/]+$/", "")
  image_tag  = regex("[^:/]+$", var.image)
  node_ports = {
    bot        = 32426
    prometheus = 31121
    grafana    = 32300
  }
}

data "kustomization_overlay" "stack" {
  resources = ["${path.module}/../k8s"]

  images {
    name     = "incidentwatch"
    new_name = local.image_name
    new_tag  = local.image_tag
  }
}

# Priority 0: the Namespace (and anything else that must exist first).
resource "kustomization_resource" "p0" {
  for_each = data.kustomization_overlay.stack.ids_prio[0]
  manifest = data.kustomization_overlay.stack.manifests[each.value]
}

resource "kubernetes_secret_v1" "slack" {
  metadata {
    name      = "incidentwatch-slack"
    namespace = local.namespace
    labels = {
      "app.kubernetes.io/name"    = "incidentwatch"
      "app.kubernetes.io/part-of" = "incidentwatch"
    }
  }

  data = merge(
    { SLACK_BOT_TOKEN = var.slack_bot_token },
    var.slack_app_token == null ? {} : { SLACK_APP_TOKEN = var.slack_app_token },
    var.slack_signing_secret == null ? {} : { SLACK_SIGNING_SECRET = var.slack_signing_secret },
  )

  depends_on = [kustomization_resource.p0]
}

# The HTTP API's bearer token: the bot reads it as API_TOKEN, Alertmanager sends it to the
# bot's webhook (mounted where k8s/alertmanager/alertmanager.yml's credentials_file points).
resource "kubernetes_secret_v1" "api" {
  metadata {
    name      = "incidentwatch-api"
    namespace = local.namespace
    labels = {
      "app.kubernetes.io/name"    = "incidentwatch"
      "app.kubernetes.io/part-of" = "incidentwatch"
    }
  }

  data = {
    API_TOKEN = var.api_token
  }

  depends_on = [kustomization_resource.p0]
}

resource "kubernetes_secret_v1" "grafana_admin" {
  metadata {
    name      = "grafana-admin"
    namespace = local.namespace
    labels = {
      "app.kubernetes.io/name"    = "grafana"
      "app.kubernetes.io/part-of" = "incidentwatch"
    }
  }

  data = {
    admin-user     = var.grafana_admin_user
    admin-password = var.grafana_admin_password
  }

  depends_on = [kustomization_resource.p0]
}

# Priority 1: the workloads, Services, ConfigMaps, RBAC; waits until Deployments are ready.
resource "kustomization_resource" "p1" {
  for_each = data.kustomization_overlay.stack.ids_prio[1]
  manifest = data.kustomization_overlay.stack.manifests[each.value]
  wait     = true

  timeouts {
    create = "5m"
    update = "5m"
  }

  depends_on = [
    kustomization_resource.p0,
    kubernetes_secret_v1.slack,
    kubernetes_secret_v1.api,
    kubernetes_secret_v1.grafana_admin,
  ]
}

# Priority 2: what must come last (e.g. webhooks).
resource "kustomization_resource" "p2" {
  for_each = data.kustomization_overlay.stack.ids_prio[2]
  manifest = data.kustomization_overlay.stack.manifests[each.value]

  depends_on = [kustomization_resource.p1]
}
