"""The house's import rules, read from the code's own import statements (docs/architecture.md).

- No service imports another service; shared/ imports no service.
- Within a service, its parts (the sub-packages and top modules of ``services/<service>/``)
  import each other in one direction only: no cycle between parts, however long.
- No cycle between the modules of shared/.
- A domain module (any module of a part but its interfaces) imports no interface:
  no schemas, views, api, forms, tasks, printout or charts module.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "review", "reporting", "notify")
# What shows or carries the rules: screens, API, input schemas and forms, tasks, renderers.
INTERFACES = frozenset({"schemas", "views", "api", "forms", "tasks", "printout", "charts"})

pytestmark = pytest.mark.unit


def _modules(folder: Path) -> Iterator[tuple[str, Path]]:
    """Every module below ``folder`` (not tests, not migrations), by its dotted name."""
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "tests" in relative.parts or "migrations" in relative.parts:
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(name: str, path: Path, known: frozenset[str] = frozenset()) -> set[str]:
    """The dotted names ``path`` imports (at the top or inside a function).

    ``from package import name`` imports ``package.name`` when that is a ``known`` module,
    else the package; with nothing known, both are named (for the tests that read names)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    # Imports for the type checker alone never run: no arrow.
    typing_only = {
        id(inner)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                if submodule in known:
                    found.add(submodule)
                elif known:
                    found.add(module)
                else:
                    found.update((module, submodule))
    return found


def _graph(folder: Path) -> dict[str, dict[str, set[str]]]:
    """Module-level import arrows below ``folder``: {module: {imported module: {why}}}."""
    modules = dict(_modules(folder))
    known = frozenset(modules)
    arrows: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for name, path in modules.items():
        for imported in _imports(name, path, known):
            if imported in modules and imported != name:
                arrows[name][imported].add(f"{path.relative_to(ROOT)} imports {imported}")
    return arrows


def _cycles(arrows: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in arrows.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(arrows):
        if node not in index:
            visit(node)
    return groups


def _part(module: str, service: str) -> str | None:
    """``services.review.queue.domain`` -> ``queue``; the service's own package (its app
    factory, which wires every part) is no part."""
    parts = module.split(".")
    if parts[:2] != ["services", service] or len(parts) < 3:
        return None
    return parts[2]


def _part_arrows(service: str) -> dict[str, dict[str, set[str]]]:
    modules = _graph(ROOT / "services" / service)
    arrows: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for source, targets in modules.items():
        for target, why in targets.items():
            source_part, target_part = _part(source, service), _part(target, service)
            if source_part and target_part and source_part != target_part:
                arrows[source_part][target_part] |= why
    return arrows


def _explain(group: list[str], arrows: dict[str, dict[str, set[str]]]) -> str:
    lines = []
    for source in group:
        for target in group:
            for why in sorted(arrows.get(source, {}).get(target, ())):
                lines.append(f"  {source} -> {target}: {why}")
    return "\n".join(lines)


@pytest.mark.parametrize("service", SERVICES)
def test_the_parts_of_a_service_import_each_other_one_way(service: str) -> None:
    arrows = _part_arrows(service)
    cycles = _cycles(arrows)
    assert not cycles, "\n".join(
        f"parts of {service} in a cycle {group}:\n{_explain(group, arrows)}" for group in cycles
    )


def test_the_modules_of_shared_import_each_other_one_way() -> None:
    arrows = _graph(ROOT / "shared")
    cycles = _cycles(arrows)
    assert not cycles, "\n".join(
        f"shared modules in a cycle {group}:\n{_explain(group, arrows)}" for group in cycles
    )


def _all_imports(folder: Path) -> Iterator[tuple[str, str, Path]]:
    for name, path in _modules(folder):
        for imported in _imports(name, path):
            yield name, imported, path


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    others = tuple(f"services.{other}" for other in SERVICES if other != service)
    crossings = sorted(
        f"{path.relative_to(ROOT)} imports {imported}"
        for _name, imported, path in _all_imports(ROOT / "services" / service)
        if imported.startswith(others) and imported.split(".")[:2] != ["services", service]
    )
    assert not crossings, "\n".join(crossings)


def test_shared_imports_no_service() -> None:
    crossings = sorted(
        f"{path.relative_to(ROOT)} imports {imported}"
        for _name, imported, path in _all_imports(ROOT / "shared")
        if imported == "services" or imported.startswith("services.")
    )
    assert not crossings, "\n".join(crossings)


# Intake is one part: its rules live in proposals.py.
DOMAIN_MODULES = frozenset({"services.intake.proposals"})


def _is_domain(module: str) -> bool:
    """A module of a part that is neither an interface nor the part's wiring (its package):
    ``services.<service>.<part>.<module>``, e.g. ``domain.py`` or the report aggregate's
    ``review.py``."""
    names = module.split(".")
    return (
        module in DOMAIN_MODULES
        or names[-1] == "domain"
        or (len(names) >= 4 and names[-1] not in INTERFACES)
    )


@pytest.mark.parametrize("service", SERVICES)
def test_domain_modules_import_no_interface(service: str) -> None:
    """Rules never depend on how they are shown or carried: the screens, the API, the tasks
    and the renderers call the domain, not the other way round."""
    wrong = sorted(
        f"{path.relative_to(ROOT)} imports {imported}"
        for name, imported, path in _all_imports(ROOT / "services" / service)
        if _is_domain(name)
        and imported.startswith(f"services.{service}.")
        and set(imported.split(".")[2:]) & INTERFACES
    )
    assert not wrong, "\n".join(wrong)


def test_the_rules_find_what_they_look_for() -> None:
    """The checks above would see a cycle and an interface import where one exists."""
    arrows = {"a": {"b": {"why"}}, "b": {"c": {"why"}}, "c": {"a": {"why"}}, "d": {"a": {"why"}}}
    assert _cycles(arrows) == [["a", "b", "c"]]
    assert _part("services.review.queue.domain", "review") == "queue"
    assert _part("services.review", "review") is None
    assert _is_domain("services.notify.delivery.domain")
    assert not _is_domain("services.notify.delivery.views")
    assert not _is_domain("services.notify.delivery")
    assert _is_domain("services.reporting.reports.review")
    assert _is_domain("services.notify.domain")
    assert _is_domain("services.intake.proposals")
    here = _imports("tests.architecture.test_imports", Path(__file__))
    assert "pytest" in here
    assert "shared.config.settings" not in _imports(
        "shared.config.production", ROOT / "shared/config/production.py"
    )
    assert "collections.defaultdict" in here


def test_every_domain_module_is_type_checked_strictly() -> None:
    """mypy's strict options (pyproject.toml) name every domain module of every service."""
    import fnmatch
    import tomllib

    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    strict = next(o["module"] for o in overrides if o.get("disallow_any_generics"))
    domain = [
        name
        for service in SERVICES
        for name, path in _modules(ROOT / "services" / service)
        if _is_domain(name) and path.name != "__init__.py"
    ]
    assert len(domain) > 40
    loose = [name for name in domain if not any(fnmatch.fnmatch(name, p) for p in strict)]
    assert not loose, f"not under mypy's strict options in pyproject.toml: {loose}"
