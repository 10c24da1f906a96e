"""The Teams app package: `commercy package` writes a zip Teams accepts, checked offline
against the official schemas (@microsoft/app-manifest, pinned in package.json, run with
Node), with icons of the sizes Teams asks for and an outline that is white on transparent.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from bot.cli import cli
from bot.package import APP_PACKAGE, build_package
from dialogs.parser import parse
from tests.test_bot import TODAY

ROOT = Path(__file__).resolve().parents[1]
BOT_ID = "6f1c3a52-8a43-4d0f-9b1e-2a7c2d1e9f10"
DOMAIN = "commercy-bot.azurewebsites.net"
NODE = shutil.which("node")


def unpacked(zip_path: Path, folder: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
        return {name: archive.read(name) for name in archive.namelist()}


def schema_errors(folder: Path) -> dict[str, list[str]]:
    result = subprocess.run(
        [NODE, str(ROOT / "tests" / "validate_manifest.mjs"), str(folder / "manifest.json"),
         str(folder / "en-us.json")],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    result = CliRunner().invoke(
        cli, ["package", "--bot-id", BOT_ID, "--domain", DOMAIN, "--out",
              str(tmp_path / "appPackage.zip")], obj={},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return tmp_path / "appPackage.zip"


@pytest.mark.skipif(NODE is None, reason="make installs Node's packages; node is required")
def test_the_package_passes_the_official_schemas(package: Path, tmp_path: Path) -> None:
    files = unpacked(package, tmp_path / "unpacked")
    assert set(files) == {"manifest.json", "en-us.json", "color.png", "outline.png"}
    errors = schema_errors(tmp_path / "unpacked")
    assert all(found == [] for found in errors.values()), errors


@pytest.mark.skipif(NODE is None, reason="make installs Node's packages; node is required")
def test_the_validator_finds_a_broken_manifest(package: Path, tmp_path: Path) -> None:
    folder = tmp_path / "unpacked"
    unpacked(package, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["bots"][0]["scopes"] = ["everywhere"]
    del manifest["accentColor"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    found = schema_errors(folder)[str(folder / "manifest.json")]
    assert any("accentColor" in error for error in found)
    assert any("/bots/0/scopes/0" in error for error in found)


def test_the_placeholders_are_filled_from_the_options(package: Path) -> None:
    manifest = json.loads(zipfile.ZipFile(package).read("manifest.json"))
    assert manifest["id"] == BOT_ID and manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["validDomains"] == [DOMAIN]
    assert manifest["developer"]["privacyUrl"] == f"https://{DOMAIN}/privacy"
    assert manifest["bots"][0]["scopes"] == ["personal", "team", "groupChat"]
    assert manifest["localizationInfo"]["defaultLanguageTag"] == "ko-kr"
    assert "${{" not in json.dumps(manifest)
    dashboard = next(t for t in manifest["staticTabs"] if t["entityId"] == "dashboard")
    assert dashboard["contentUrl"] == f"https://{DOMAIN}/tab"
    team_tab = manifest["configurableTabs"][0]
    assert team_tab["configurationUrl"] == f"https://{DOMAIN}/tab/config"
    assert set(team_tab["scopes"]) == {"team", "groupChat"}


def test_the_icons_have_teams_sizes_and_the_outline_is_white_on_transparent(package) -> None:
    archive = zipfile.ZipFile(package)
    color = Image.open(io.BytesIO(archive.read("color.png")))
    outline = Image.open(io.BytesIO(archive.read("outline.png"))).convert("RGBA")
    assert color.size == (192, 192) and outline.size == (32, 32)
    pixels = list(outline.get_flattened_data())
    assert {p[:3] for p in pixels if p[3] > 0} == {(255, 255, 255)}
    assert sum(p[3] == 0 for p in pixels) > len(pixels) // 3  # a transparent background
    assert sum(p[3] == 255 for p in pixels) > 50  # and a visible mark


def test_every_command_in_both_languages_is_one_the_bot_understands() -> None:
    manifest = json.loads((APP_PACKAGE / "manifest.json").read_text())
    english = json.loads((APP_PACKAGE / "en-us.json").read_text())
    korean = [c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]]
    titles = korean + [v for k, v in english.items() if k.endswith(".title")]
    assert len(titles) == 2 * len(korean)
    routes = {parse(title, as_of=TODAY).route for title in titles}
    for title in titles:
        assert parse(title, as_of=TODAY).route in ("sql", "reasoning", "command", "help"), title
    # The prompt starters show the product's range: numbers, why, and the alert commands.
    assert {"sql", "reasoning", "command"} <= routes
    assert {"알림 켜기", "alerts on"} <= set(titles)


def test_the_prompt_starters_fit_teams_limits() -> None:
    """What the schema does not say but Teams enforces: at most 10 commands per list,
    titles of 32 characters, descriptions of 128, in every language."""
    manifest = json.loads((APP_PACKAGE / "manifest.json").read_text())
    english = json.loads((APP_PACKAGE / "en-us.json").read_text())
    commands = manifest["bots"][0]["commandLists"][0]["commands"]
    assert len(commands) <= 10
    for command in commands:
        assert len(command["title"]) <= 32 and len(command["description"]) <= 128
    for key, value in english.items():
        if key.startswith("bots[0].commandLists"):
            assert len(value) <= (32 if key.endswith(".title") else 128), key


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ([], "no bot id: pass --bot-id or set MicrosoftAppId"),
        (["--bot-id", "my-bot"], "is not a Microsoft App ID"),
        (["--bot-id", BOT_ID], "no public domain: pass --domain HOST"),
        (["--bot-id", BOT_ID, "--domain", "localhost:3978"], "no public domain"),
        (["--bot-id", BOT_ID, "--domain", "not a host"], "is not a host name"),
    ],
)
def test_a_missing_or_bad_value_is_one_clear_line(tmp_path, options, message) -> None:
    result = CliRunner().invoke(cli, ["package", *options, "--out", str(tmp_path / "p.zip")],
                                obj={}, env={"MicrosoftAppId": "", "COMMERCY_PUBLIC_URL": ""})  # fmt: skip
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "p.zip").exists()


def test_the_public_url_setting_gives_the_domain(tmp_path) -> None:
    out = build_package(tmp_path / "p.zip", bot_id=BOT_ID.upper(),
                        domain="https://commercy.contoso.com/api/messages")  # fmt: skip
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert manifest["validDomains"] == ["commercy.contoso.com"] and manifest["id"] == BOT_ID
