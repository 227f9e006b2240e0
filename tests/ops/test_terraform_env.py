"""Which credentials Terraform gets: one emulator stack JSON (no keys in its provider blocks)
serves root runs, with the emulator's root keys, and role runs, with a web identity only."""

from __future__ import annotations

import io

from local import emulator as emu
from ops import deploy
from ops import terraform as tf

ENDPOINT = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}
ROLE = {
    **ENDPOINT,
    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/delivery/deploy-items-local",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/tmp/token",
    "AWS_ROLE_SESSION_NAME": "deploy",
}


def test_a_root_run_on_the_emulator_gets_the_root_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    env = tf.terraform_env(tmp_path, ENDPOINT)
    assert env["AWS_ACCESS_KEY_ID"] == env["AWS_SECRET_ACCESS_KEY"] == "test"


def test_a_role_run_inherits_no_static_credentials(tmp_path, monkeypatch):
    for name in tf.STATIC_CREDENTIALS:
        monkeypatch.setenv(name, "inherited")
    env = tf.terraform_env(tmp_path, ROLE)
    assert not set(tf.STATIC_CREDENTIALS) & set(env)
    assert env["AWS_ROLE_ARN"] == ROLE["AWS_ROLE_ARN"] and env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/tmp/token"


def test_a_real_run_keeps_the_callers_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    assert tf.terraform_env(tmp_path)["AWS_ACCESS_KEY_ID"] == "mine"


def test_make_emulator_exports_the_root_keys(tmp_path):
    state = emu.RunState(tmp_path / "state.json")
    state.emulator_pid, state.emulator_port = 1, 5000
    config = deploy.load_config("local")
    lines = deploy.print_exports(config, state, tmp_path, io.StringIO())
    assert "export AWS_ACCESS_KEY_ID=test" in lines and "export AWS_SECRET_ACCESS_KEY=test" in lines


def test_make_emulator_has_the_cdktf_cli_synthesize_only_its_environment(tmp_path):
    state = emu.RunState(tmp_path / "state.json")
    state.emulator_pid, state.emulator_port = 1, 5000
    lines = deploy.print_exports(deploy.load_config("local"), state, tmp_path, io.StringIO())
    assert "export BACKEND_ENVIRONMENTS=local" in lines
