terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.38"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.1"
    }
    cloudinit = {
      source  = "hashicorp/cloudinit"
      version = "~> 2.3"
    }
  }

  # Remote state in S3 with S3-native locking. The values are given at init, per environment:
  #   terraform init -backend-config="bucket=<state bucket>" \
  #     -backend-config="key=bookstore/<env>/terraform.tfstate" \
  #     -backend-config="region=<region>" -backend-config="use_lockfile=true" \
  #     -backend-config="encrypt=true"
  backend "s3" {}
}
