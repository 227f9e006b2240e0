"""Operational tools: Terraform runner, emulator, local API, smoke check, deploy."""
