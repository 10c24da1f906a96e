"""infra/: checkov finds nothing (each skipped check carries its reason), the Bicep wires
every module, the settings it gives the app are settings Commercy reads, and the
Dockerfile runs the bot as a non-root user with a health check."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from pydantic import AliasChoices

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


def setting_names() -> set[str]:
    names = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names.update(alias.choices if isinstance(alias, AliasChoices) else [alias])
    return names


@pytest.mark.skipif(not CHECKOV.exists(), reason="make installs checkov into .venv-tools")
def test_checkov_passes_over_infra_with_nothing_unparsed() -> None:
    result = subprocess.run(
        [str(CHECKOV), "-d", str(INFRA), "--skip-download", "--quiet", "-o", "json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    frameworks = {report["check_type"]: report["summary"] for report in reports}
    assert {"bicep", "dockerfile"} <= set(frameworks)
    for framework, summary in frameworks.items():
        assert summary["failed"] == 0 and summary["parsing_errors"] == 0, (framework, summary)
    assert result.returncode == 0


def test_every_skipped_check_says_why() -> None:
    for path in INFRA.rglob("*.bicep"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                reason = line.split("checkov:skip=", 1)[1].split(":", 1)
                assert len(reason) == 2 and len(reason[1].strip()) > 10, (path.name, line)


def test_main_wires_every_module_and_the_parameters_file_matches() -> None:
    main = (INFRA / "main.bicep").read_text()
    for module in (INFRA / "modules").glob("*.bicep"):
        assert f"'modules/{module.name}'" in main, module.name
    declared = set(re.findall(r"^param (\w+)", main, re.MULTILINE))
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(given) <= declared
    required = {name for name in declared
                if not re.search(rf"^param {name} \w+ =", main, re.MULTILINE)}  # fmt: skip
    assert required <= set(given)


def test_the_app_gets_only_settings_commercy_reads() -> None:
    known = setting_names()
    for name in ("appservice.bicep", "indexer.bicep"):
        text = (INFRA / "modules" / name).read_text()
        given = set(re.findall(r"name: '((?:COMMERCY|AZURE_OPENAI|Microsoft)\w*)'", text))
        assert given and given <= known, given - known


def test_the_bot_runs_as_the_managed_identity_with_no_secret_in_app_settings() -> None:
    site = (INFRA / "modules" / "appservice.bicep").read_text()
    assert "{ name: 'MicrosoftAppType', value: 'UserAssignedMSI' }" in site
    assert "healthCheckPath: '/healthz'" in site and "alwaysOn: true" in site
    assert "linuxFxVersion: 'PYTHON|3.11'" in site
    for secret in ("COMMERCY_SEARCH_KEY", "COMMERCY_BLOB_CONNECTION_STRING"):
        assert re.search(rf"'{secret}', value: '@Microsoft.KeyVault\(SecretUri=", site), secret
    assert "MicrosoftAppPassword" not in site and "AZURE_OPENAI_API_KEY" not in site
    bot = (INFRA / "modules" / "bot.bicep").read_text()
    assert "'MsTeamsChannel'" in bot and "msaAppType: 'UserAssignedMSI'" in bot


def test_the_image_is_slim_runs_as_non_root_and_checks_its_health() -> None:
    lines = [line.strip() for line in (INFRA / "Dockerfile").read_text().splitlines()]
    froms = [line for line in lines if line.startswith("FROM ")]
    assert all("python:3.11-slim" in line for line in froms)
    users = [line for line in lines if line.startswith("USER ")]
    assert users and users[-1] != "USER root"
    health = next(i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK"))
    assert "/healthz" in lines[health + 1]
    assert lines[-1].startswith('CMD ["commercy", "serve"')
