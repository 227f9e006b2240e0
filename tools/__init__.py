"""Operational tools: Terraform runner, emulator, deploy, the local API Gateway, smoke check."""
