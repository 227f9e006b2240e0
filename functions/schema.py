"""Table schema shared by the infrastructure (modules/global_table.py) and the handlers,
so a test can never pass against a key the table does not have."""

PARTITION_KEY = "item_id"
PARTITION_KEY_TYPE = "S"
# The one item /health reads (a strongly consistent GetItem): written once by Terraform in
# the primary region and replicated like any item, so a region answers healthy only when it
# can read and decrypt its own copy. The health function's role may read this key and no
# other (dynamodb:LeadingKeys), and the items API refuses it (functions/_store.py).
HEALTH_SENTINEL_ID = "__health_sentinel__"
