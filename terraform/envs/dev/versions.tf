terraform {
  required_version = ">= 1.10"

  required_providers {
    # The AWS side only. 5.100 is what CI validates and tests; 6.x is what `init` picks today.
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Remote state in S3 with S3-native locking. The values are given at init, per environment:
  #   terraform init -backend-config="bucket=<state bucket>" \
  #     -backend-config="key=bookstore/<env>/terraform.tfstate" \
  #     -backend-config="region=<region>" -backend-config="use_lockfile=true" \
  #     -backend-config="encrypt=true"
  backend "s3" {}
}
