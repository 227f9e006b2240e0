"""IAM enforced by the emulator (local/iam_enforcement.py), through boto3 against the
emulator's own server application on 127.0.0.1: calls signed by an assumed role get the
verdict its policies give, with AWS's AccessDenied message; root calls are never checked; and
AssumeRoleWithWebIdentity takes only a token its trust policy allows."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from local import issuer
from local.emulator import aws_client
from local.emulator_server import OneWriteRequestHandler, emulator_app
from local.iam import web_identity

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REGION, ACCOUNT = "eu-west-1", "123456789012"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
REPOSITORY = "example-org/items-backend"
UNSIGNED_CONFIG = Config(signature_version=UNSIGNED)


def serve(app) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=OneWriteRequestHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    endpoint, server = serve(emulator_app())
    dynamodb = aws_client("dynamodb", REGION, endpoint)
    for name in ("readable", "other"):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName=name, Item={"item_id": {"S": "a"}})
    yield endpoint
    server.shutdown()  # type: ignore[attr-defined]


def allow(action: str, resource: str, effect: str = "Allow", **extra) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": resource, **extra}]}


def role_session(url: str, name: str, policies: list[dict], boundary: dict | None = None) -> RoleSession:
    """A role made with root credentials, then assumed: a session signing as that role."""
    iam = aws_client("iam", REGION, url)
    trust = allow("sts:AssumeRole", "*", Principal={"AWS": ACCOUNT})
    del trust["Statement"][0]["Resource"]
    extra = {}
    if boundary:
        arn = iam.create_policy(PolicyName=f"{name}-boundary", PolicyDocument=json.dumps(boundary))["Policy"]["Arn"]
        extra["PermissionsBoundary"] = arn
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), **extra)
    for index, policy in enumerate(policies):
        iam.put_role_policy(RoleName=name, PolicyName=f"p{index}", PolicyDocument=json.dumps(policy))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    creds = aws_client("sts", REGION, url).assume_role(RoleArn=role_arn, RoleSessionName="session")
    return session_of(creds["Credentials"])


@dataclass(frozen=True)
class RoleSession:
    """Clients signing with an assumed role's credentials. They come from boto3's default
    session: a boto3.Session per role would parse each service's model again (a tenth of a
    second or more per service and role); only the credentials differ."""

    creds: dict

    def client(self, service: str, endpoint_url: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=endpoint_url,
            region_name=REGION,
            aws_access_key_id=self.creds["AccessKeyId"],
            aws_secret_access_key=self.creds["SecretAccessKey"],
            aws_session_token=self.creds["SessionToken"],
        )


def session_of(creds: dict) -> RoleSession:
    return RoleSession(creds)


def get_item(session: RoleSession, url: str, table: str) -> dict:
    return session.client("dynamodb", endpoint_url=url).get_item(TableName=table, Key={"item_id": {"S": "a"}})


def refusal(call) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value


def test_a_role_reads_the_table_its_policy_names_and_nothing_else(url):
    session = role_session(url, "reader", [allow("dynamodb:GetItem", TABLE_ARN + "readable")])
    assert get_item(session, url, "readable")["Item"]["item_id"] == {"S": "a"}
    other = refusal(lambda: get_item(session, url, "other"))
    assert other.response["Error"]["Code"] == "AccessDeniedException"
    assert other.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/reader/session is not authorized to perform: dynamodb:GetItem"
        f" on resource: {TABLE_ARN}other because no identity-based policy allows the dynamodb:GetItem action"
    )
    dynamodb = session.client("dynamodb", endpoint_url=url)
    put = refusal(lambda: dynamodb.put_item(TableName="readable", Item={"item_id": {"S": "b"}}))
    assert "perform: dynamodb:PutItem on resource: " + TABLE_ARN + "readable" in put.response["Error"]["Message"]


def test_root_credentials_are_never_checked(url):
    role_session(url, "nothing-allowed", [])
    dynamodb = aws_client("dynamodb", REGION, url)
    assert dynamodb.get_item(TableName="other", Key={"item_id": {"S": "a"}})["Item"]
    assert aws_client("iam", REGION, url).get_role(RoleName="nothing-allowed")["Role"]["RoleName"] == "nothing-allowed"


def test_an_explicit_deny_wins_over_an_allow(url):
    session = role_session(
        url, "denied", [allow("dynamodb:*", "*"), allow("dynamodb:GetItem", TABLE_ARN + "other", effect="Deny")]
    )
    assert get_item(session, url, "readable")["Item"]
    message = refusal(lambda: get_item(session, url, "other")).response["Error"]["Message"]
    assert message.endswith("on resource: " + TABLE_ARN + "other with an explicit deny in an identity-based policy")


def test_the_permissions_boundary_caps_what_the_policies_allow(url):
    session = role_session(
        url, "bounded", [allow("dynamodb:*", "*")], boundary=allow("dynamodb:GetItem", TABLE_ARN + "readable")
    )
    assert get_item(session, url, "readable")["Item"]
    message = refusal(lambda: get_item(session, url, "other")).response["Error"]["Message"]
    assert message.endswith("because no permissions boundary allows the dynamodb:GetItem action")


def test_a_condition_key_the_emulator_cannot_supply_fails_closed_with_a_log_line(url, caplog):
    unknown = {"StringEquals": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}
    session = role_session(url, "unknown-key", [allow("dynamodb:GetItem", "*", Condition=unknown)])
    with caplog.at_level(logging.WARNING, logger="local.iam.evaluator"):
        error = refusal(lambda: get_item(session, url, "readable"))
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert "condition key or operator not evaluated: dynamodb:Select" in caplog.text


def test_a_call_whose_resource_cannot_be_named_is_refused_with_a_log_line(url, caplog):
    session = role_session(url, "kms-user", [allow("kms:*", "*")])
    kms = session.client("kms", endpoint_url=url)
    assert kms.list_aliases()["Aliases"] is not None  # an action on no resource: "*"
    with caplog.at_level(logging.WARNING, logger="local.iam_enforcement"):
        error = refusal(lambda: kms.describe_key(KeyId="alias/does-not-exist"))
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert "kms:DescribeKey: no value for ${KeyId}" in caplog.text


def test_resource_tags_and_request_aliases_reach_the_conditions(url):
    kms_root = aws_client("kms", REGION, url)
    key = kms_root.create_key(Tags=[{"TagKey": "environment", "TagValue": "dev"}])["KeyMetadata"]["KeyId"]
    kms_root.create_alias(AliasName="alias/items-dev", TargetKeyId=key)
    tagged = allow("kms:DescribeKey", "*", Condition={"StringEquals": {"aws:ResourceTag/environment": "prod"}})
    aliased = allow("kms:DescribeKey", "*", Condition={"StringEquals": {"kms:RequestAlias": "alias/items-dev"}})
    by_alias = role_session(url, "by-alias", [tagged, aliased]).client("kms", endpoint_url=url)
    assert by_alias.describe_key(KeyId="alias/items-dev")["KeyMetadata"]["KeyId"] == key
    refusal(lambda: by_alias.describe_key(KeyId=key))  # no alias named, and the key is not tagged prod


def test_a_session_token_or_signature_that_does_not_match_is_refused(url):
    creds = role_session(url, "signer", [allow("dynamodb:GetItem", "*")]).creds
    forged = session_of({**creds, "SecretAccessKey": "wrong"})
    error = refusal(lambda: get_item(forged, url, "readable"))
    assert error.response["Error"]["Code"] == "InvalidSignatureException"


@pytest.fixture(scope="module")
def github(url, tmp_path_factory) -> Iterator[Path]:
    """The local issuer's keys, standing in for GitHub's issuer as the emulator's JWKS for it;
    an IAM OIDC provider for GitHub and a role trusting one repository's dev environment, as
    the bootstrap stack makes them."""
    key_dir = tmp_path_factory.mktemp("issuer")
    issuer.create_keys(key_dir)
    server = issuer.make_server(key_dir, "http://127.0.0.1:0")
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    web_identity.register_issuer(issuer.GITHUB_ISSUER, f"http://127.0.0.1:{server.server_port}/jwks.json")
    iam = aws_client("iam", REGION, url)
    provider = iam.create_open_id_connect_provider(Url=issuer.GITHUB_ISSUER, ClientIDList=[issuer.STS_AUDIENCE])
    host = "token.actions.githubusercontent.com"
    condition = {
        "StringEquals": {f"{host}:aud": "sts.amazonaws.com", f"{host}:sub": f"repo:{REPOSITORY}:environment:dev"}
    }
    trust = allow("sts:AssumeRoleWithWebIdentity", "*", Condition=condition)
    del trust["Statement"][0]["Resource"]
    trust["Statement"][0]["Principal"] = {"Federated": provider["OpenIDConnectProviderArn"]}
    iam.create_role(RoleName="deploy-dev", AssumeRolePolicyDocument=json.dumps(trust))
    yield key_dir
    server.shutdown()


def assume_by_web_identity(url: str, token: str) -> dict:
    unsigned = boto3.client("sts", endpoint_url=url, region_name=REGION, config=UNSIGNED_CONFIG)
    return unsigned.assume_role_with_web_identity(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/deploy-dev", RoleSessionName="github", WebIdentityToken=token
    )


def test_assume_role_with_web_identity_takes_the_environments_token(url, github):
    creds = assume_by_web_identity(url, issuer.mint_github(github, REPOSITORY, "dev"))
    assert creds["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy-dev/github"


@pytest.mark.parametrize(
    ("repository", "environment", "claims"),
    [
        ("example-org/another-repo", "dev", {}),
        (REPOSITORY, "prod", {}),
        (REPOSITORY, None, {"event_name": "pull_request"}),
    ],
    ids=["another repository", "another environment", "a pull request"],
)
def test_assume_role_with_web_identity_refuses_other_subjects(url, github, repository, environment, claims):
    token = issuer.mint_github(github, repository, environment, **claims)
    error = refusal(lambda: assume_by_web_identity(url, token))
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert "sts:AssumeRoleWithWebIdentity" in error.response["Error"]["Message"]


def test_a_token_not_signed_by_the_issuers_keys_is_refused(url, github, tmp_path):
    issuer.create_keys(tmp_path)
    error = refusal(lambda: assume_by_web_identity(url, issuer.mint_github(tmp_path, REPOSITORY, "dev")))
    assert error.response["Error"]["Code"] == "InvalidIdentityToken"


def test_each_protocol_gets_its_own_access_denied_and_its_resources_from_the_request(url):
    """Query (IAM, with the request's tags), REST-XML (Route53), REST-JSON with a path parameter
    (Lambda), and API Gateway, whose IAM actions are HTTP methods on the paths called."""
    dev_only = {"StringEquals": {"aws:RequestTag/environment": "dev"}}
    session = role_session(
        url,
        "protocols",
        [
            allow("iam:CreateRole", "*", Condition=dev_only),
            allow("apigateway:GET", f"arn:aws:apigateway:{REGION}::/restapis"),
            allow("lambda:GetFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:mine"),
        ],
    )
    iam = session.client("iam", endpoint_url=url)
    iam.create_role(RoleName="tagged-dev", AssumeRolePolicyDocument="{}", Tags=[{"Key": "environment", "Value": "dev"}])
    tagged_prod = [{"Key": "environment", "Value": "prod"}]
    error = refusal(lambda: iam.create_role(RoleName="tagged-prod", AssumeRolePolicyDocument="{}", Tags=tagged_prod))
    assert error.response["Error"]["Code"] == "AccessDenied"
    route53 = refusal(lambda: session.client("route53", endpoint_url=url).list_health_checks())
    assert route53.response["Error"]["Code"] == "AccessDenied"
    assert "route53:ListHealthChecks on resource: *" in route53.response["Error"]["Message"]
    lambda_ = session.client("lambda", endpoint_url=url)
    assert (
        refusal(lambda: lambda_.get_function(FunctionName="mine")).response["Error"]["Code"]
        == "ResourceNotFoundException"
    )
    other = refusal(lambda: lambda_.get_function(FunctionName="theirs")).response["Error"]
    assert other["Code"] == "AccessDeniedException"
    assert f"lambda:GetFunction on resource: arn:aws:lambda:{REGION}:{ACCOUNT}:function:theirs" in other["Message"]
    apigateway = session.client("apigateway", endpoint_url=url)
    # Allowed (no AccessDenied); moto's backends are per process, so other modules' APIs may be listed.
    assert isinstance(apigateway.get_rest_apis()["items"], list)
    api = refusal(lambda: apigateway.get_rest_api(restApiId="abc")).response["Error"]["Message"]
    assert f"apigateway:GET on resource: arn:aws:apigateway:{REGION}::/restapis/abc" in api


def test_passing_a_role_to_lambda_needs_iam_pass_role_to_that_service(url):
    execution_role = aws_client("iam", REGION, url).create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
    role_arn = execution_role["Role"]["Arn"]
    to_ec2 = {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    session = role_session(
        url, "deployer", [allow("lambda:CreateFunction", "*"), allow("iam:PassRole", "*", Condition=to_ec2)]
    )
    create = session.client("lambda", endpoint_url=url).create_function
    code = {"ZipFile": b"PK\x05\x06" + b"\x00" * 18}  # an empty zip archive
    error = refusal(lambda: create(FunctionName="f", Runtime="python3.12", Role=role_arn, Handler="h.h", Code=code))
    assert f"perform: iam:PassRole on resource: {role_arn}" in error.response["Error"]["Message"]


def test_get_caller_identity_needs_no_permission(url):
    session = role_session(url, "denied-everything", [allow("*", "*", effect="Deny")])
    identity = session.client("sts", endpoint_url=url).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/denied-everything/session"


def test_route53_zones_and_log_groups_are_named_from_their_parameters(url):
    zone = aws_client("route53", REGION, url).create_hosted_zone(Name="example.com", CallerReference="zone")
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    zone_arn = f"arn:aws:route53:::hostedzone/{zone_id}"
    log_groups = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:mine*"
    session = role_session(
        url, "reader-of-one-zone", [allow("route53:GetHostedZone", zone_arn), allow("logs:CreateLogGroup", log_groups)]
    )
    route53 = session.client("route53", endpoint_url=url)
    assert route53.get_hosted_zone(Id=zone_id)["HostedZone"]["Name"] == "example.com."
    records = refusal(lambda: route53.list_resource_record_sets(HostedZoneId=zone_id)).response["Error"]["Message"]
    assert f"route53:ListResourceRecordSets on resource: {zone_arn} because" in records
    logs = session.client("logs", endpoint_url=url)
    logs.create_log_group(logGroupName="mine-1")
    theirs = refusal(lambda: logs.create_log_group(logGroupName="theirs")).response["Error"]["Message"]
    assert f"logs:CreateLogGroup on resource: arn:aws:logs:{REGION}:{ACCOUNT}:log-group:theirs because" in theirs


def test_leading_keys_limit_a_role_to_the_partition_keys_its_policy_names(url):
    only_a = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["a"]}, "Null": {"dynamodb:LeadingKeys": "false"}}
    session = role_session(
        url, "sentinel-reader", [allow("dynamodb:GetItem", TABLE_ARN + "readable", Condition=only_a)]
    )
    assert get_item(session, url, "readable")["Item"]["item_id"] == {"S": "a"}
    dynamodb = session.client("dynamodb", endpoint_url=url)
    refusal(lambda: dynamodb.get_item(TableName="readable", Key={"item_id": {"S": "b"}}))


def test_local_issuers_are_registered_from_the_emulators_environment():
    web_identity.register_from_env("https://issuer.example=http://127.0.0.1:1/jwks.json, https://other.example/=x")
    assert web_identity.ISSUERS["https://issuer.example"] == "http://127.0.0.1:1/jwks.json"
    assert web_identity.ISSUERS["https://other.example"] == "x"
    for issuer_url in ("https://issuer.example", "https://other.example"):
        del web_identity.ISSUERS[issuer_url]


def test_a_session_token_that_is_not_the_sessions_is_refused_on_rest_calls_too(url):
    creds = role_session(url, "token-holder", [allow("lambda:*", "*")]).creds
    forged = session_of({**creds, "SessionToken": "x"})
    error = refusal(lambda: forged.client("lambda", endpoint_url=url).list_functions())
    assert error.response["Error"]["Code"] == "UnrecognizedClientException"


def test_route53_tag_calls_are_authorized_against_the_resource_they_name(url):
    """ListTagsForResource names its resource with ResourceType and ResourceId, as the
    provider's read of a zone calls it: AWS authorizes it against that zone's ARN, not ``*``
    (which no policy scoped to the zone allows)."""
    route53 = aws_client("route53", REGION, url)
    zones = [
        route53.create_hosted_zone(Name=name, CallerReference=name)["HostedZone"]["Id"].rsplit("/", 1)[-1]
        for name in ("tagged.example.com", "other-tags.example.com")
    ]
    session = role_session(
        url, "zone-tags", [allow("route53:ListTagsForResource", f"arn:aws:route53:::hostedzone/{zones[0]}")]
    )
    client = session.client("route53", endpoint_url=url)
    assert client.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zones[0])["ResourceTagSet"]
    other = refusal(lambda: client.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zones[1]))
    assert (
        f"route53:ListTagsForResource on resource: arn:aws:route53:::hostedzone/{zones[1]} "
        in (other.response["Error"]["Message"])
    )


def raw_error_body(client, operation: str) -> list[bytes]:
    """The body of each response to ``operation``, before botocore parses it."""
    bodies: list[bytes] = []
    client.meta.events.register(
        f"before-parse.{client.meta.service_model.service_name}.{operation}",
        lambda response_dict, **_: bodies.append(response_dict["body"]),
    )
    return bodies


def test_a_query_service_refuses_in_aws_error_format_and_names_the_topic(url):
    """SNS and IAM are query services: AWS answers ``<ErrorResponse><Error>`` (no ``Errors``
    wrapper; the Go SDK Terraform uses reads nothing else), and CreateTopic is authorized
    against the topic its Name makes."""
    sns = role_session(url, "no-topics", []).client("sns", endpoint_url=url)
    bodies = raw_error_body(sns, "CreateTopic")
    refused = refusal(lambda: sns.create_topic(Name="alarms"))
    assert refused.response["Error"]["Code"] == "AccessDenied"
    message = refused.response["Error"]["Message"]
    assert f"sns:CreateTopic on resource: arn:aws:sns:{REGION}:{ACCOUNT}:alarms " in message
    assert b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>" in bodies[-1]


def test_a_resource_named_by_arn_is_authorized_against_that_arn(url):
    """Tag calls name their resource by ARN (logs' resourceArn, DynamoDB's ResourceArn): the
    call is authorized against it, not against ``*`` or a type it is not."""
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/mine"
    session = role_session(
        url,
        "tag-reader",
        [allow("logs:ListTagsForResource", group), allow("dynamodb:ListTagsOfResource", TABLE_ARN + "readable")],
    )
    aws_client("logs", REGION, url).create_log_group(logGroupName="/aws/lambda/mine")
    assert "tags" in session.client("logs", endpoint_url=url).list_tags_for_resource(resourceArn=group)
    dynamodb = session.client("dynamodb", endpoint_url=url)
    assert "Tags" in dynamodb.list_tags_of_resource(ResourceArn=TABLE_ARN + "readable")
    other = refusal(lambda: dynamodb.list_tags_of_resource(ResourceArn=TABLE_ARN + "other"))
    assert f"on resource: {TABLE_ARN}other " in other.response["Error"]["Message"]


def test_a_call_on_an_existing_role_carries_its_boundary(url):
    """AttachRolePolicy names no boundary, but iam:PermissionsBoundary is the boundary the
    role already has: a policy allowing changes only to roles within a boundary allows it."""
    iam = aws_client("iam", REGION, url)
    boundary = iam.create_policy(PolicyName="attach-limit", PolicyDocument=json.dumps(allow("s3:GetObject", "*")))
    boundary_arn = boundary["Policy"]["Arn"]
    trust = json.dumps(allow("sts:AssumeRole", "*", Principal={"Service": "lambda.amazonaws.com"}))
    iam.create_role(RoleName="attach-within", AssumeRolePolicyDocument=trust.replace(', "Resource": "*"', ""))
    iam.put_role_permissions_boundary(RoleName="attach-within", PermissionsBoundary=boundary_arn)
    iam.create_role(RoleName="attach-outside", AssumeRolePolicyDocument=trust.replace(', "Resource": "*"', ""))
    within = allow("iam:AttachRolePolicy", "*", Condition={"StringEquals": {"iam:PermissionsBoundary": boundary_arn}})
    client = role_session(url, "role-admin", [within]).client("iam", endpoint_url=url)
    client.attach_role_policy(RoleName="attach-within", PolicyArn=boundary_arn)
    refused = refusal(lambda: client.attach_role_policy(RoleName="attach-outside", PolicyArn=boundary_arn))
    assert refused.response["Error"]["Code"] == "AccessDenied"


def test_a_certificate_request_carries_its_domain_names(url):
    """acm:DomainNames is the request's DomainName and SubjectAlternativeNames: a policy
    allowing only its own names (with the Null guard) allows them and refuses another."""
    own = allow(
        "acm:RequestCertificate",
        "*",
        Condition={
            "ForAllValues:StringEquals": {"acm:DomainNames": ["api.items.test"]},
            "Null": {"acm:DomainNames": "false"},
        },
    )
    acm = role_session(url, "certificates", [own]).client("acm", endpoint_url=url)
    assert acm.request_certificate(DomainName="api.items.test", ValidationMethod="DNS")["CertificateArn"]
    refused = refusal(
        lambda: acm.request_certificate(
            DomainName="api.items.test", SubjectAlternativeNames=["evil.example.com"], ValidationMethod="DNS"
        )
    )
    assert refused.response["Error"]["Code"] == "AccessDeniedException"


def test_describing_one_alarm_is_authorized_against_that_alarm(url):
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:mine"
    cloudwatch = role_session(url, "alarm-reader", [allow("cloudwatch:DescribeAlarms", alarm)]).client(
        "cloudwatch", endpoint_url=url
    )
    assert "MetricAlarms" in cloudwatch.describe_alarms(AlarmNames=["mine"])
    refusal(lambda: cloudwatch.describe_alarms(AlarmNames=["other"]))


def test_a_certificate_is_read_by_its_environment_tag(url):
    """aws:ResourceTag/* of a certificate are its tags in ACM: a role reading only certificates
    tagged for its environment reads that one and not another's."""
    acm = aws_client("acm", REGION, url)
    arns = {
        env: acm.request_certificate(
            DomainName=f"{env}.items.test", ValidationMethod="DNS", Tags=[{"Key": "environment", "Value": env}]
        )["CertificateArn"]
        for env in ("local", "prod")
    }
    tagged = allow("acm:DescribeCertificate", "*", Condition={"StringEquals": {"aws:ResourceTag/environment": "local"}})
    client = role_session(url, "local-certificates", [tagged]).client("acm", endpoint_url=url)
    assert client.describe_certificate(CertificateArn=arns["local"])["Certificate"]["DomainName"] == "local.items.test"
    refused = refusal(lambda: client.describe_certificate(CertificateArn=arns["prod"]))
    assert f"on resource: {arns['prod']} " in refused.response["Error"]["Message"]


def test_deleting_an_alias_is_authorized_against_the_alias_and_its_key(url):
    """kms:DeleteAlias names only the alias; AWS also authorizes it against the key the alias
    points to, which the emulator looks up."""
    kms = aws_client("kms", REGION, url)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=key_id)
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
    alias_only = role_session(url, "alias-only", [allow("kms:DeleteAlias", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/*")])
    refused = refusal(lambda: alias_only.client("kms", endpoint_url=url).delete_alias(AliasName="alias/doomed"))
    assert f"kms:DeleteAlias on resource: {key_arn} " in refused.response["Error"]["Message"]
    both = role_session(
        url, "alias-and-key", [allow("kms:DeleteAlias", [f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/*", key_arn])]
    )
    both.client("kms", endpoint_url=url).delete_alias(AliasName="alias/doomed")
    assert "alias/doomed" not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
