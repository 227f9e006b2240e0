"""The handlers' public contract: what the infrastructure, the stand-in and the operator
commands read from ``functions`` (the table's key, the sentinel, the size limits, the log
levels), so a test can never pass against a key or a limit the functions do not have.
Nothing outside ``functions`` imports its private modules (import-linter checks it)."""

PARTITION_KEY = "item_id"
PARTITION_KEY_TYPE = "S"
# The one item /health reads (a strongly consistent GetItem): written once by Terraform in
# the primary region and replicated like any item, so a region answers healthy only when it
# can read and decrypt its own copy. The health function's role may read this key and no
# other (dynamodb:LeadingKeys), and the items API refuses it (functions/_store.py).
HEALTH_SENTINEL_ID = "__health_sentinel__"

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit (409,600 bytes)
# The largest request body worth reading: 3 bytes of JSON per stored byte (1,228,800).
# JSON adds quotes, colons, commas and brackets to what DynamoDB stores, and encoders that
# write ASCII only (the default of Python's json.dumps, so of requests' json=) escape text
# as \uXXXX: 6 bytes for a character stored in 2 (é, я, ש), 12 for an emoji stored in 4.
# Three to one admits nearly every storable item written that way; what it refuses
# (megabytes of whitespace, long runs of escaped control characters, numbers padded with
# hundreds of zeros) is mostly not JSON a client writes. One exception: a list of empty
# strings stores 1 byte per element and takes 3 bytes of compact JSON ("",) but 4 with
# Python's default separators ("", ), so near the limit such a list is refused as a body
# (BodyTooLarge) though DynamoDB would store it.
MAX_BODY_BYTES = 3 * MAX_ITEM_BYTES
# Lambda's application log levels (logging_config.application_log_level), lowest first.
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
