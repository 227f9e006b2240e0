"""The bootstrap stack as synthesized: one per project, every environment's account reached
through its own provider, state buckets that Terraform will not destroy, roles per environment."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from modules.bootstrap.delivery import DeliverySettings, load_delivery, split_bootstrap
from modules.config.schema import ConfigError
from tests.local.iam.bootstrap_policies import synthesize_bootstrap

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bootstrap_doc(all_configs, tmp_path_factory):
    from cdktf import App, Testing

    import main
    from modules.bootstrap.stack import add_bootstrap

    scratch = App(outdir=str(tmp_path_factory.mktemp("boot")))
    configs = [all_configs[n] for n in ("dev", "staging", "prod", "local")]
    settings = DeliverySettings(github_repository="example-org/items", assume_role="OrganizationAccountAccessRole")
    stack = add_bootstrap(scratch, configs, settings, PROJECT_DIR, main.build_app)
    return json.loads(Testing.synth(stack))


def test_one_provider_per_account_and_region_with_the_account_pinned(bootstrap_doc):
    providers = {p["alias"]: p for p in bootstrap_doc["provider"]["aws"]}
    assert set(providers) == {
        "account_111111111111_us_east_1",
        "account_111111111111_eu_west_1",
        "account_222222222222_us_east_1",
        "account_222222222222_eu_west_1",
        "account_333333333333_us_east_1",
    }
    for alias, p in providers.items():
        account = alias.split("_")[1]
        assert p["allowed_account_ids"] == [account]
        assert p["assume_role"] == [
            {"role_arn": f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", "session_name": "bootstrap"}
        ]
        assert "access_key" not in p


def test_state_buckets_cannot_be_destroyed_and_live_in_their_environments_account(bootstrap_doc):
    buckets = bootstrap_doc["resource"]["aws_s3_bucket"].values()
    assert {b["bucket"]: b["provider"] for b in buckets} == {
        "items-terraform-state-111111111111": "aws.account_111111111111_eu_west_1",
        "items-terraform-state-222222222222": "aws.account_222222222222_eu_west_1",
    }
    assert all(b["lifecycle"] == {"prevent_destroy": True} for b in buckets)


def test_one_github_oidc_provider_per_account(bootstrap_doc):
    oidc = list(bootstrap_doc["resource"]["aws_iam_openid_connect_provider"].values())
    github = [o for o in oidc if o["url"] == "https://token.actions.githubusercontent.com"]
    assert sorted(o["provider"] for o in github) == [
        "aws.account_111111111111_us_east_1",
        "aws.account_222222222222_us_east_1",
        "aws.account_333333333333_us_east_1",
    ]
    assert all(o["client_id_list"] == ["sts.amazonaws.com"] for o in github)
    assert [o["url"] for o in oidc if o not in github] == ["https://app.terraform.io"]


def test_roles_per_real_environment_never_admin(bootstrap_doc):
    roles = {r["name"]: r for r in bootstrap_doc["resource"]["aws_iam_role"].values()}
    assert set(roles) == {f"{k}-items-{e}" for k in ("deploy", "plan") for e in ("dev", "staging", "prod")}
    assert all(r["path"] == "/delivery/" for r in roles.values())
    assert "aws_iam_role_policy" not in bootstrap_doc["resource"]
    policies = bootstrap_doc["resource"]["aws_iam_policy"]
    # Only the bootstrap's own managed policies are attached, never an AWS one (AdministratorAccess).
    attached = {a["policy_arn"] for a in bootstrap_doc["resource"]["aws_iam_role_policy_attachment"].values()}
    assert attached == {f"${{aws_iam_policy.{name}.arn}}" for name in policies if "_boundary_" not in name}
    for policy in policies.values():
        assert policy["path"] == "/delivery/"
        document = json.loads(policy["policy"])
        assert not [s for s in document["Statement"] if s["Effect"] == "Allow" and "*" in s["Action"]]
        assert not [a for s in document["Statement"] for a in s["Action"] if a.endswith(":*")], "a service wildcard"
        # IAM's limit for a managed policy, counted with the account id and the longest zone id
        # (32 characters) the references become.
        resolved = re.sub(r"\$\{data\.aws_caller_identity\.[\w-]+\.account_id\}", "111111111111", policy["policy"])
        resolved = re.sub(r"\$\{data\.aws_route53_zone\.[\w-]+\.zone_id\}", "Z" * 32, resolved)
        assert "${" not in resolved and len(resolved) <= 6144


def test_the_roles_read_and_write_only_their_environments_zone(bootstrap_doc):
    """The zone grants name the zone the environment's stack looks up, found by the same name."""
    zones = bootstrap_doc["data"]["aws_route53_zone"]
    by_name = {z["name"]: key for key, z in zones.items()}
    assert set(by_name) == {"dev.example.com", "staging.example.com", "example.com"}
    assert all(z["private_zone"] is False for z in zones.values())
    for policy in bootstrap_doc["resource"]["aws_iam_policy"].values():
        (environment,) = {"dev", "staging", "prod"} & set(policy["name"].split("-"))
        zone_name = "example.com" if environment == "prod" else f"{environment}.example.com"
        for statement in json.loads(policy["policy"])["Statement"]:
            zone_arns = [arn for arn in statement["Resource"] if ":hostedzone/" in arn]
            assert zone_arns in (
                [],
                [f"arn:aws:route53:::hostedzone/${{data.aws_route53_zone.{by_name[zone_name]}.zone_id}}"],
            ), (policy["name"], statement["Sid"])


def test_each_environment_has_its_permissions_boundary_outside_the_deploy_roles_reach(bootstrap_doc):
    boundaries = {
        p["name"]: p for p in bootstrap_doc["resource"]["aws_iam_policy"].values() if p["name"].startswith("boundary-")
    }
    assert set(boundaries) == {f"boundary-items-{e}" for e in ("dev", "staging", "prod")}
    deploy = [
        json.loads(p["policy"])
        for p in bootstrap_doc["resource"]["aws_iam_policy"].values()
        if p["name"].startswith("deploy-backend-prod-")
    ]
    granted = [arn for d in deploy for s in d["Statement"] if s["Effect"] == "Allow" for arn in s["Resource"]]
    assert not [arn for arn in granted if ":policy/" in arn], "the deploy role must not reach any managed policy"


def test_bootstrap_is_synthesized_only_when_named():
    assert split_bootstrap(None) == (False, None)
    assert split_bootstrap(["bootstrap"]) == (True, [])
    assert split_bootstrap(["dev", "bootstrap"]) == (True, ["dev"])


@pytest.mark.slow
def test_main_synthesizes_the_bootstrap_alone(tmp_path):
    env = {**os.environ, "BACKEND_ENVIRONMENTS": "bootstrap", "CDKTF_OUTDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "main.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_DIR,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == ["bootstrap"]


# Slow: main.py runs in a subprocess (the binding loaded again, every environment built).
@pytest.mark.slow
def test_the_session_bootstrap_synth_is_what_main_writes(bootstrap_synthesized, tmp_path):
    """tests/conftest.py's ``bootstrap_synthesized``, which the fast policy tests read, is the
    stack ``BACKEND_ENVIRONMENTS=bootstrap python main.py`` writes (the same JSON document)."""
    assert synthesize_bootstrap(tmp_path) == bootstrap_synthesized


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[github]\nrepository = "no-slash"\n', "github.repository: 'no-slash' is not a repository"),
        (
            '[github]\nrepository = "o/r"\n[bootstrap]\nnoncurrent_version_days = 0\n',
            "noncurrent_version_days: 0 is out of range",
        ),
        (
            '[github]\nrepository = "o/r"\n[bootstrap]\nassume_role = "bad role"\n',
            "assume_role: 'bad role' is not an IAM role name",
        ),
    ],
)
def test_delivery_settings_are_checked(tmp_path, text, expected):
    path = tmp_path / "delivery.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_delivery(path)


def test_the_projects_delivery_settings_load():
    settings = load_delivery(PROJECT_DIR / "delivery.toml")
    assert settings.github_repository.count("/") == 1


def test_an_existing_github_oidc_provider_is_read_not_created(all_configs, tmp_path_factory):
    from cdktf import App, Testing

    import main
    from modules.bootstrap.stack import add_bootstrap

    scratch = App(outdir=str(tmp_path_factory.mktemp("boot-existing")))
    configs = [all_configs[n] for n in ("dev", "prod")]
    settings = DeliverySettings(github_repository="example-org/items", existing_github_oidc_accounts=("333333333333",))
    doc = json.loads(Testing.synth(add_bootstrap(scratch, configs, settings, PROJECT_DIR, main.build_app)))
    created = [o for o in doc["resource"]["aws_iam_openid_connect_provider"].values() if "github" in o["url"]]
    assert [o["provider"] for o in created] == ["aws.account_111111111111_us_east_1"]
    (read_id, read) = next(iter(doc["data"]["aws_iam_openid_connect_provider"].items()))
    assert read == {**read, "url": "https://token.actions.githubusercontent.com"}
    assert read["provider"] == "aws.account_333333333333_us_east_1"
    trusts = [json.loads(r["assume_role_policy"]) for r in doc["resource"]["aws_iam_role"].values()]
    federated = {
        s["Principal"]["Federated"] for t in trusts for s in t["Statement"] if "token.actions" in json.dumps(s)
    }
    assert f"${{data.aws_iam_openid_connect_provider.{read_id}.arn}}" in federated


def test_existing_oidc_accounts_must_be_account_ids(tmp_path):
    path = tmp_path / "delivery.toml"
    path.write_text('[github]\nrepository = "o/r"\n[bootstrap]\nexisting_github_oidc_accounts = ["12345"]\n')
    with pytest.raises(ConfigError, match="existing_github_oidc_accounts: '12345' is not an AWS account id"):
        load_delivery(path)


def test_the_deploy_role_outlasts_a_table_copy_and_the_plan_role_does_not(bootstrap_doc):
    roles = {
        r["name"].split("-")[0]: r["max_session_duration"] for r in bootstrap_doc["resource"]["aws_iam_role"].values()
    }
    assert roles == {"deploy": 14400, "plan": 3600}
