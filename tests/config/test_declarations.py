"""The key declarations in modules/config/sections.py are the one source of the README's environment
table and of the loader's checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.config import docs, loader, schema, sections
from modules.config.schema import PerEnvironment, Reader, marked_span

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_matches_the_declarations():
    text = README.read_text(encoding="utf-8")
    start, stop = marked_span(text, docs.README_BEGIN, docs.README_END)
    assert text[start:stop] == schema.markdown_table(sections.KEYS), (
        "README.md's environment table differs from modules/config/sections.py: run `make docs`"
    )


def test_update_readme_rewrites_only_the_table(tmp_path):
    stale = tmp_path / "README.md"
    stale.write_text(f"# title\n\n{docs.README_BEGIN}\n| old | table |\n{docs.README_END}\n\nafter\n")
    assert docs.main(["--update-readme", str(stale)]) == 0
    expected = f"# title\n\n{docs.README_BEGIN}\n{schema.markdown_table(sections.KEYS)}{docs.README_END}\n\nafter\n"
    assert stale.read_text() == expected


def test_update_readme_refuses_a_file_without_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="markers"):
        docs.main(["--update-readme", str(readme)])
    assert readme.read_text() == "# no markers\n"


def test_markdown_command_prints_one_row_per_key(capsys):
    assert docs.main(["--markdown"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [row.split(" | ")[0].strip("| `") for row in rows] == [key.path for key in sections.KEYS]
    assert {"lambda.memory", "state.bucket", "primary_region", "allowed_account_ids"} <= {
        key.path for key in sections.KEYS
    }


@pytest.mark.parametrize(
    "key", [key for key in sections.KEYS if key.setting.default is not None], ids=lambda key: key.path
)
def test_every_default_passes_its_own_checks(key):
    """The loader checks a key's rule on its default too (a per-environment default can
    fail for an odd environment name), so a static default must always pass."""
    reader = Reader("defaults", "dev")
    value = reader.read({}, key)
    assert reader.errors == []
    default = key.setting.default
    expected = default.value("dev") if isinstance(default, PerEnvironment) else default
    assert value == expected and type(value) is type(expected)


def test_section_defaults_are_the_declared_defaults():
    """A section left out of a file equals its class's defaults, so constructs built from
    ``LambdaConfig()`` and from a parsed file agree."""
    parsed = loader.parse_environment(
        {
            "project": "items",
            "regions": ["eu-west-1", "eu-central-1"],
            "allowed_account_ids": ["111111111111"],
            "auth": {"public": True},
        },
        environment="dev",
        source="test.toml",
    )
    assert parsed.lambda_ == sections.LambdaConfig()
    assert parsed.api == sections.ApiConfig()
    assert parsed.table == sections.TableConfig()
    assert parsed.health_check == sections.HealthCheckConfig()
    assert parsed.routing == sections.RoutingConfig()
