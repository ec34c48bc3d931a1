"""The house rules, checked by reading imports (docs/architecture.md), and the dependency pins kept in step.

1. SCIM rules (`scim/`) are pure Python: no AWS code, nothing above them.
2. Each AWS service is touched by exactly one module.
3. Routes never import the store; the HTTP edge (`api.py`) knows nothing of DynamoDB.
4. The store never calls up into use cases; use cases never call up into routes or the edge.
5. Users and groups stand side by side: neither imports the other.
6. The Lambda layer ships only runtime code: nothing in it imports the development tools or their libraries.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "scim" / "python" / "scim_endpoint"
FUNCTIONS = ROOT / "functions"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Absolute names of everything a file imports (relative imports resolved against the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ""
    if path.is_relative_to(PACKAGE):
        package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def runtime_modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported_by(module: str) -> set[str]:
    return imports(runtime_modules()[module])


def test_the_scim_rules_are_pure() -> None:
    for name, path in runtime_modules().items():
        if not name.startswith("scim_endpoint.scim"):
            continue
        for target in imports(path):
            if target.startswith("scim_endpoint."):
                assert target.startswith("scim_endpoint.scim"), f"{name} imports {target}"
            assert not target.startswith(("boto3", "botocore", "aws_lambda_powertools")), f"{name} imports {target}"


AWS_OWNERS = {
    "dynamodb": "scim_endpoint.store",
    "secretsmanager": "scim_endpoint.tenants",
    "sqs": "scim_endpoint.jobs",
    "s3": "scim_endpoint.export_bucket",
    "logs": "scim_endpoint.activity_log",
    "events": "scim_endpoint.event_bus",
}


@pytest.mark.parametrize("service, owner", AWS_OWNERS.items())
def test_each_aws_service_is_touched_by_one_module(service: str, owner: str) -> None:
    clients = {
        name for name, path in runtime_modules().items()
        if re.search(rf"""client\(\s*["']{service}["']""", path.read_text(encoding="utf-8"))
    }
    assert clients == {owner}
    aws = {name for name, path in runtime_modules().items()
           if any(t.startswith(("boto3", "botocore")) for t in imports(path))}
    assert all(name.startswith(tuple(AWS_OWNERS.values())) for name in aws), aws


def test_routes_and_the_edge_know_nothing_of_the_store() -> None:
    for path in FUNCTIONS.glob("*/app.py"):
        if path.parent.name == "cleanup":
            continue  # the stream consumer is the store's own client (it has no request scope)
        assert not any(t.startswith("scim_endpoint.store") for t in imports(path)), path
    assert not any(t.startswith("scim_endpoint.store") for t in imported_by("scim_endpoint.api"))


def test_layers_point_one_way() -> None:
    upward = {
        "scim_endpoint.store": ("scim_endpoint.resources", "scim_endpoint.api"),
        "scim_endpoint.tenants": ("scim_endpoint.resources", "scim_endpoint.api", "scim_endpoint.store"),
    }
    for name, path in runtime_modules().items():
        if name.startswith("scim_endpoint.resources"):
            assert not any(t.startswith("scim_endpoint.api") for t in imports(path)), f"{name} imports the edge"
    for module, forbidden in upward.items():
        assert not any(t.startswith(forbidden) for t in imported_by(module)), module


def test_users_and_groups_stand_side_by_side() -> None:
    assert not any(t.startswith("scim_endpoint.resources.groups") for t in imported_by("scim_endpoint.resources.users"))
    assert not any(t.startswith("scim_endpoint.resources.users") for t in imported_by("scim_endpoint.resources.groups"))


def test_the_layer_ships_no_development_code() -> None:
    dev = ("devtools", "moto", "yaml", "werkzeug", "pytest", "hypothesis", "samcli", "cfnlint")
    for name, path in runtime_modules().items():
        for target in imports(path):
            assert not target.startswith(dev), f"{name} imports {target}"
    for path in FUNCTIONS.glob("*/app.py"):
        assert not any(t.startswith(dev) for t in imports(path)), path


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().strip('",')
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]+\])?==([0-9][^\s;]*)", line)
        assert match, f"not an exact pin: {line!r}"
        pins[match[1].lower()] = match[3]
    return pins


def test_runtime_pins_are_the_same_in_both_dependency_files() -> None:
    """The Lambda layer (layers/deps/requirements.txt) runs what the tests ran (pyproject.toml's dependencies)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = (ROOT / "layers" / "deps" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert _pins(project["dependencies"]) == _pins(requirements)
