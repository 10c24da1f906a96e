"""The documentation, read against the code: every `commercy` command is in README.md's
command line, every setting in its settings table with the default the code has, and
`.env.example` lists every setting with that default."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from pydantic import AliasChoices

from bot.cli import cli
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")

# Defaults the table states as what the code does with its default, not the value itself.
DOCUMENTED_DEFAULTS = {
    # Empty means the bot's own address on its port (Settings.bot_url).
    "COMMERCY_PUBLIC_URL": ("", "http://localhost:PORT"),
}


def section(heading: str) -> str:
    """README's text under `heading`, up to the next heading of any level."""
    start = README.index(f"\n{heading}\n")
    following = re.search(r"^#{1,6} ", README[start + len(heading) + 2 :], re.MULTILINE)
    end = start + len(heading) + 2 + following.start() if following else len(README)
    return README[start:end]


# -- the command line --------------------------------------------------------------------


def commands(group: click.Group, path: str = "commercy") -> list[str]:
    """Every command a person runs: the leaves, and groups that run on their own."""
    found = [path] if path != "commercy" and group.invoke_without_command else []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += commands(command, f"{path} {name}")
        else:
            found.append(f"{path} {name}")
    return found


COMMANDS = commands(cli)


def test_the_walk_finds_the_commands_of_every_group() -> None:
    assert {"commercy data generate", "commercy kpi query", "commercy indexer"} <= set(COMMANDS)
    assert "commercy data" not in COMMANDS  # a group that only holds commands


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_on_the_readmes_command_line(command: str) -> None:
    assert re.search(re.escape(command) + r"(?![\w-])", section("## The command line"))


# -- settings ----------------------------------------------------------------------------


def names_of(field: str) -> list[str]:
    """A setting's environment variable names, the one the code reports first."""
    alias = Settings.model_fields[field].validation_alias
    return list(alias.choices) if isinstance(alias, AliasChoices) else [alias]


SETTINGS = {names_of(field)[0]: field for field in Settings.model_fields}
ALL_NAMES = [name for field in Settings.model_fields for name in names_of(field)]


def table_rows() -> list[list[str]]:
    lines = [line for line in section("## Settings").splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert rows[0][:2] == ["variable", "default"] and set(rows[1][0]) == {"-"}
    return rows[2:]


def documented_defaults() -> dict[str, str]:
    """Variable name -> its default as the table writes it. A row may name several
    variables, their defaults comma-separated in the same order; "(or `ALIAS`)" names an
    alias with the same default."""
    defaults = {}
    for names_cell, default_cell, *_ in table_rows():
        primary = re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", names_cell))
        aliases = [n for n in re.findall(r"`(\w+)`", names_cell) if n not in primary]
        values = default_cell.split(",") if len(primary) > 1 else [default_cell]
        assert len(values) == len(primary), names_cell
        assert not aliases or len(primary) == 1, names_cell
        defaults.update(zip(primary, values, strict=True))
        defaults.update((alias, default_cell) for alias in aliases)
    return defaults


DOCUMENTED = documented_defaults()


def written(value: str) -> str:
    """A default as the table writes it: `30`, `true`, empty, (empty)."""
    value = value.strip().strip("`")
    return "" if value in ("empty", "(empty)") else value


def same_default(code: object, table: str) -> bool:
    if isinstance(code, bool):
        return table == str(code).lower()
    if isinstance(code, int | float):
        return re.fullmatch(r"-?[\d_]+(\.\d+)?", table) is not None and float(table) == code
    return table == code


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_setting_is_in_the_readmes_settings_table(name: str) -> None:
    assert name in DOCUMENTED


@pytest.mark.parametrize("name", SETTINGS)
def test_the_settings_table_gives_the_codes_default(name: str) -> None:
    if name not in DOCUMENTED:
        pytest.skip(f"{name} is not in the table (its own test fails)")
    code = Settings.model_fields[SETTINGS[name]].default
    table = written(DOCUMENTED[name])
    if name in DOCUMENTED_DEFAULTS:
        assert (code, table) == DOCUMENTED_DEFAULTS[name]
    else:
        assert same_default(code, table), f"README says {table!r}, the code {code!r}"


# -- .env.example ------------------------------------------------------------------------


def example_values() -> dict[str, str]:
    return dict(re.findall(r"^(\w+)=(.*)$", ENV_EXAMPLE, flags=re.MULTILINE))


@pytest.mark.parametrize("name", SETTINGS)
def test_env_example_sets_every_setting(name: str) -> None:
    assert name in example_values()


@pytest.mark.parametrize("name", [n for n in ALL_NAMES if n not in SETTINGS])
def test_env_example_names_every_alias(name: str) -> None:
    assert re.search(rf"\b{name}\b", ENV_EXAMPLE)


@pytest.mark.parametrize("name", SETTINGS)
def test_env_example_holds_the_codes_default(name: str) -> None:
    """Copying it to .env changes nothing until a value is edited."""
    values = example_values()
    if name not in values:
        pytest.skip(f"{name} is not in .env.example (its own test fails)")
    code = Settings.model_fields[SETTINGS[name]].default
    assert same_default(code, values[name].strip()), f"{values[name]!r} vs {code!r}"
