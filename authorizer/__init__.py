"""The JWT Lambda authorizer (TOKEN type) of the item routes; its own zip (modules/package.py)."""
