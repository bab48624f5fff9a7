terraform {
  required_version = ">= 1.5.0"

  required_providers {
    # Builds k8s/ with kustomize and applies every object of it: one set of manifests.
    kustomization = {
      source  = "kbst/kustomization"
      version = "0.9.6"
    }
    # Only for the two Secrets, whose values come from sensitive variables.
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "2.38.0"
    }
  }
}
