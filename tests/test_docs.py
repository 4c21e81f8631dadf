"""README stays honest: every command and option is documented, and the test command CI runs
is the one README gives (sqlite-utils' tests/test_docs.py habit)."""

import re

import click
import pytest

from search.cli import main

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_is_in_readme(name):
    assert f"`reports {name}" in README


@pytest.mark.parametrize("name, option", [
    (name, opt)
    for name, command in sorted(main.commands.items())
    for param in command.params if isinstance(param, click.Option)
    for opt in param.opts if opt.startswith("--") and opt != "--help"
])
def test_every_option_is_in_readme(name, option):
    assert option in README, f"`reports {name} {option}` is not documented in README.md"


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    test_command = next(b.strip() for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_setup_command_installs_and_runs_the_main_job():
    first = re.findall(r"```bash\n(.*?)```", README, re.S)[0]
    assert "pip install" in first and "reports search" in first
