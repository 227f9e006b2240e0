"""Lambda handlers for the items API.

Entry points: functions.items.create_item, get_item, delete_item; functions.health.check."""
