output "api_url" {
  description = "The API's public URL from the Bookstore's status; empty until the load balancer has an address (apply again to pick it up)."
  value       = try(data.kubernetes_resource.bookstore.object.status.url, "")
}

output "namespace" {
  description = "Namespace of the Bookstore."
  value       = kubernetes_namespace_v1.this.metadata[0].name
}
