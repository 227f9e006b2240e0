"""moto's server, started the way ``moto_server`` starts it, except that every response
leaves in one write: status line, headers and body together.

Why: werkzeug's development server (which moto's server uses) writes the headers of a
response, then the body, in two separate writes, with the Python work in between; on this
machine the body of about a third of the responses reached the client 0.15 to 0.5 ms after
its headers. Captured on loopback during `make deploy` (tcpdump), about one response in
four deploys was lost that way: the AWS provider's HTTP client (Go, aws-sdk-go-v2) closed
the connection 0.14 ms after the headers arrived and before the body did, the server's
body write hit the closed socket (RST), and the SDK retried the request. For a read that is
harmless; for a create it is not: the retry of a CreateFunction that had succeeded answers
409 "Function already exist", which the provider retries for five minutes
(terraform-provider-aws issue 29263), and the retry of a ChangeResourceRecordSets answers
400 "already exists". With the response in one write the client has the body in hand when
it reads the headers, so there is no window to lose it in. Measured with
benchmarks/fresh_deploys.py (docs/local-stand-in.md).

It also creates DynamoDB replicas, which moto alone does not (local/dynamodb_replicas.py),
keeps what moto would lose of a deployment (local/moto_fixes.py), and evaluates IAM for every
call signed by an assumed role (local/iam_enforcement.py).
``LOCAL_OIDC_ISSUERS`` (``ISSUER=JWKS_URL`` pairs, comma-separated) names the local issuers
whose keys stand in for an OpenID Connect issuer's, e.g. GitHub's, for AssumeRoleWithWebIdentity.
``--decision-log PATH`` keeps every IAM decision, one line each (``make iam-report`` reads them).

    python -m local.emulator_server -H 127.0.0.1 -p 5000 [--decision-log .emulator/iam-decisions.log]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

from local import dynamodb_replicas, iam_enforcement, moto_fixes, route53_traffic_policies
from local.iam import web_identity

# Responses up to this size leave in one write; a larger body still follows its headers
# immediately, with no application work in between.
RESPONSE_BUFFER_BYTES = 1 << 20
# The decision log's bound: a file of this size, then one older file beside it (``.1``). A local
# deploy and the e2e runs against it make a few thousand decisions of about 250 bytes each.
DECISION_LOG_BYTES = 16 << 20
DECISION_LOGGERS = ("local.iam_enforcement", "local.iam")


class OneWriteRequestHandler(MotoRequestHandler):
    """Buffers each response and sends it when werkzeug flushes after the body."""

    wbufsize = RESPONSE_BUFFER_BYTES

    def handle_expect_100(self) -> bool:
        # "100 Continue" must reach the client before it sends the body.
        result = super().handle_expect_100()
        self.wfile.flush()
        return result


def keep_decisions(path: Path) -> None:
    """Every IAM decision (INFO: allowed, WARNING: refused or failed closed) into ``path``,
    bounded by ``DECISION_LOG_BYTES``; warnings still reach stderr (the emulator's log)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = RotatingFileHandler(path, maxBytes=DECISION_LOG_BYTES, backupCount=1, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    to_stderr = logging.StreamHandler()
    to_stderr.setLevel(logging.WARNING)
    for name in DECISION_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(to_file)
        logger.addHandler(to_stderr)
        logger.propagate = False


def emulator_app() -> DomainDispatcherApplication:
    """moto's server application, with the project's extensions of moto installed."""
    dynamodb_replicas.install()
    route53_traffic_policies.install()
    moto_fixes.apply()
    iam_enforcement.install()
    web_identity.register_from_env(os.environ.get("LOCAL_OIDC_ISSUERS", ""))
    return DomainDispatcherApplication(create_backend_app)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--decision-log", type=Path, help="keep every IAM decision in this file")
    args = parser.parse_args(argv)
    if args.decision_log:
        keep_decisions(args.decision_log)
    # moto builds some URLs (e.g. S3 presigned ones) from this, as moto_server sets it.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # as moto_server does: a clean exit
    run_simple(args.host, args.port, emulator_app(), threaded=True, request_handler=OneWriteRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
