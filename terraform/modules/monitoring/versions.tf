terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 7.0"
    }
    cloudinit = {
      source  = "hashicorp/cloudinit"
      version = ">= 2.3, < 3.0"
    }
  }
}
