"""The CDKTF AWS provider binding this project is written against, declared once.

requirements.txt and package.json pin the same versions (tests/test_binding.py). HashiCorp
archived CDKTF and its prebuilt bindings in December 2025, so these no longer move.
"""

CDKTF_VERSION = "0.21.0"
# The binding for hashicorp/aws 5.100.0.
DISTRIBUTION = "cdktf-cdktf-provider-aws"
VERSION = "20.1.0"
PACKAGE = "cdktf_cdktf_provider_aws"
