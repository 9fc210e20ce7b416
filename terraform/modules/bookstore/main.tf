locals {
  objects = provider::kubernetes::manifest_decode_multi(var.operator_manifest)
  by_key  = { for o in local.objects : "${o.kind}/${try(o.metadata.namespace, "")}/${o.metadata.name}" => o }
  # The CRD first: everything else, and the Bookstore itself, needs it.
  crds  = { for key, o in local.by_key : key => o if o.kind == "CustomResourceDefinition" }
  rest  = { for key, o in local.by_key : key => o if o.kind != "CustomResourceDefinition" }
  field = { name = "terraform", force_conflicts = true }
}

resource "kubernetes_manifest" "crd" {
  for_each = local.crds
  manifest = each.value
  field_manager {
    name            = local.field.name
    force_conflicts = local.field.force_conflicts
  }
}

resource "kubernetes_manifest" "operator" {
  for_each = local.rest
  manifest = each.value
  field_manager {
    name            = local.field.name
    force_conflicts = local.field.force_conflicts
  }
  depends_on = [kubernetes_manifest.crd]
}

resource "kubernetes_namespace_v1" "this" {
  metadata {
    name   = var.namespace
    labels = { "pod-security.kubernetes.io/enforce" = "restricted" }
  }
}

# The password RDS generated; it lives in the Terraform state too, which must be encrypted.
data "aws_secretsmanager_secret_version" "database" {
  secret_id = var.database_password_secret_arn
}

resource "kubernetes_secret_v1" "database_password" {
  metadata {
    name      = "${var.name}-db-password"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }
  data = {
    password = jsondecode(data.aws_secretsmanager_secret_version.database.secret_string)["password"]
  }
}

resource "kubernetes_manifest" "bookstore" {
  manifest = {
    apiVersion = "bookstore.dev/v1alpha1"
    kind       = "Bookstore"
    metadata   = { name = var.name, namespace = kubernetes_namespace_v1.this.metadata[0].name }
    spec = {
      image       = var.image
      replicas    = var.replicas
      autoscaling = { enabled = true, minReplicas = var.min_replicas, maxReplicas = var.max_replicas }
      service     = { type = "LoadBalancer", port = 80, annotations = var.service_annotations }
      database = {
        host              = var.database_host
        port              = var.database_port
        name              = var.database_name
        user              = var.database_user
        passwordSecretRef = { name = kubernetes_secret_v1.database_password.metadata[0].name, key = "password" }
      }
      env = [
        { name = "CORS_ALLOWED_ORIGINS", value = var.web_origin },
        { name = "DB_SSL_MODE", value = "required" },
      ]
    }
  }
  field_manager {
    name            = local.field.name
    force_conflicts = local.field.force_conflicts
  }
  depends_on = [kubernetes_manifest.operator]
}

data "kubernetes_resource" "bookstore" {
  api_version = "bookstore.dev/v1alpha1"
  kind        = "Bookstore"
  metadata {
    name      = var.name
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }
  depends_on = [kubernetes_manifest.bookstore]
}
