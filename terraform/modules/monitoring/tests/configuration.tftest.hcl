# A change under deploy/monitoring must reach the running host through its configuration bucket,
# not through its user data (which replaces the instance, and used to hang detaching the data
# volume). `terraform test` in terraform/modules/monitoring, against a mocked AWS provider.

mock_provider "aws" {
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/mock" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/mock" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock" }
  }
}

variables {
  name                      = "bookstore-test"
  vpc_id                    = "vpc-0123"
  vpc_cidr                  = "10.0.0.0/16"
  private_subnet_id         = "subnet-0123"
  vpn_security_group_id     = "sg-vpn"
  cluster_security_group_id = "sg-cluster"
  region                    = "eu-west-1"
  cluster_name              = "bookstore-test"
  cluster_endpoint          = "https://example.eks.amazonaws.com"
  cluster_ca_certificate    = "Y2VydGlmaWNhdGU="
  prometheus_config         = "scrape_configs: []\n"
  alert_rules               = { "bookstore.rules.yml" = "groups: []\n" }
  grafana_dashboards        = { "api.json" = "{}" }
  grafana_provisioning      = { "datasources/prometheus.yml" = "apiVersion: 1\n" }
}

run "first_configuration" {
  command = apply
  assert {
    condition     = output.posture.config_keys == tolist(["grafana/dashboards/api.json", "grafana/provisioning/datasources/prometheus.yml", "prometheus/eks-ca.crt", "prometheus/prometheus.yml", "prometheus/rules/bookstore.rules.yml"])
    error_message = "Every configuration file is an object of the configuration bucket."
  }
  assert {
    condition     = output.posture.stop_instance_before_detaching
    error_message = "A replaced host is stopped before its mounted data volume detaches."
  }
}

run "changed_rules_and_dashboards_keep_the_host" {
  command = apply
  variables {
    prometheus_config  = "global: {scrape_interval: 30s}\nscrape_configs: []\n"
    alert_rules        = { "bookstore.rules.yml" = "groups: [{name: changed, rules: []}]\n", "more.rules.yml" = "groups: []\n" }
    grafana_dashboards = { "api.json" = "{\"title\": \"changed\"}" }
  }
  assert {
    condition     = output.posture.bootstrap_sha == run.first_configuration.posture.bootstrap_sha
    error_message = "Changing the configuration does not change the instance's user data (which would replace it)."
  }
  assert {
    condition     = contains(output.posture.config_keys, "prometheus/rules/more.rules.yml")
    error_message = "A new rule file becomes an object the host syncs."
  }
}

run "a_new_prometheus_release_remakes_the_host" {
  command = plan
  variables {
    prometheus_version = "3.5.1"
  }
  assert {
    condition     = output.posture.bootstrap_sha != run.first_configuration.posture.bootstrap_sha
    error_message = "The bootstrap (software, not configuration) is what makes the host."
  }
}
