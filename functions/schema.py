"""Table schema shared by the infrastructure (modules/global_table.py) and the handlers,
so a test can never pass against a key the table does not have."""

PARTITION_KEY = "item_id"
PARTITION_KEY_TYPE = "S"
