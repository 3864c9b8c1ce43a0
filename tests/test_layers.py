"""The import contracts of pyproject.toml (run by `lint-imports` in `make test`) stay complete."""

import pkgutil
import tomllib

import compression
from tests.conftest import REPO_ROOT


def _contracts() -> dict:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["name"]: contract for contract in config["contracts"]}


def test_the_engine_contract_forbids_every_other_module_of_the_core():
    """A new module beside the engine must be added to the engine's forbidden list."""
    contract = _contracts()["The engine imports no Django and nothing of the project outside itself"]
    siblings = {f"compression.{module.name}" for module in pkgutil.iter_modules(compression.__path__)}
    assert siblings - {"compression.engine"} <= set(contract["forbidden_modules"])
    assert "django" in contract["forbidden_modules"]


def test_every_face_is_a_root_package_of_the_contracts():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    apps = {path.parent.name for path in REPO_ROOT.glob("*/apps.py")}
    assert apps <= set(config["root_packages"])
