"""The bootstrap's state-bucket lifecycle rule comes back from moto exactly as the AWS provider
wrote it. After PutBucketLifecycleConfiguration the provider (hashicorp/aws 5.100,
``waitLifecycleConfigEquals``) polls GetBucketLifecycleConfiguration until ten reads in a row
equal what it sent (``reflect.DeepEqual`` per rule, and the transition default): any difference
would make every bootstrap apply fail after the 3-minute create timeout. Equal answers still take
the provider's fixed ~55 s (10 s delay, then 9 polls 5 s apart), as against AWS: see
docs/local-stand-in.md.
"""

from __future__ import annotations

from local.emulator import aws_client
from tests.local.moto_server import moto_server

# As the provider sends the rule modules/bootstrap/stack.py declares (filter { prefix = "" }).
RULE = {
    "ID": "expire-old-state-versions",
    "Filter": {"Prefix": ""},
    "Status": "Enabled",
    "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
}
TRANSITION_DEFAULT = "all_storage_classes_128K"  # the provider's default, sent as a header


def test_the_bootstrap_lifecycle_rule_reads_back_as_written():
    with moto_server() as url:
        s3 = aws_client("s3", "us-east-1", url)
        s3.create_bucket(Bucket="state")
        s3.put_bucket_versioning(Bucket="state", VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_lifecycle_configuration(
            Bucket="state",
            LifecycleConfiguration={"Rules": [RULE]},
            TransitionDefaultMinimumObjectSize=TRANSITION_DEFAULT,
        )
        answer = s3.get_bucket_lifecycle_configuration(Bucket="state")
    assert answer["Rules"] == [RULE]
    assert answer["TransitionDefaultMinimumObjectSize"] == TRANSITION_DEFAULT
