"""Capabilities depend downward, and no import hides inside a function to dodge a circle.

Evidence sits below links, actors, legal and witnesses; where evidence and legal meet, casefile/links owns the
meeting. These tests read the import statements of the modules (no import is executed), so a dependency pointing
the wrong way, or one tucked into a function body, fails here with the file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "casefile"

# Modules whose every casefile import is at module level (or under TYPE_CHECKING).
NO_FUNCTION_LEVEL_IMPORTS = [
    "api/core.py",
    "cases/services.py",
    "cases/views.py",
    "cli.py",
    "custody/api.py",
    "custody/cli.py",
    "custody/services.py",
    "custody/verification.py",
    "db.py",
    "demo/__init__.py",
    "evidence/forms.py",
    "evidence/models.py",
    "evidence/services.py",
    "evidence/views.py",
    "legal/api.py",
    "legal/catalogue.py",
    "legal/models.py",
    "legal/services.py",
    "links/api.py",
    "links/forms.py",
    "links/models.py",
    "links/schemas.py",
    "links/services.py",
    "links/views.py",
    "models.py",
    "parsing.py",
]


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import with whether it sits in a function body and whether it is under `if TYPE_CHECKING:`."""

    def walk(
        node: ast.AST, in_function: bool, type_checking: bool
    ) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function, type_checking
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from walk(child, True, type_checking)
            elif isinstance(child, ast.If) and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                yield from walk(child, in_function, True)
            else:
                yield from walk(child, in_function, type_checking)

    return walk(tree, False, False)


def _casefile_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if module == "casefile":
            return [f"casefile.{alias.name}" for alias in node.names]
        return [module] if module.startswith("casefile.") else []
    return [alias.name for alias in node.names if alias.name.startswith("casefile")]


def _runtime_imports(relative: str) -> list[tuple[int, str, bool]]:
    """(line, casefile module, in a function) of each import that runs (TYPE_CHECKING blocks excluded)."""
    tree = ast.parse((PACKAGE / relative).read_text(encoding="utf-8"))
    return [
        (node.lineno, module, in_function)
        for node, in_function, type_checking in _imports(tree)
        if not type_checking
        for module in _casefile_modules(node)
    ]


@pytest.mark.parametrize("relative", NO_FUNCTION_LEVEL_IMPORTS)
def test_no_casefile_import_hides_in_a_function(relative: str) -> None:
    hidden = [
        f"casefile/{relative}:{line} imports {module}" for line, module, inside in _runtime_imports(relative) if inside
    ]
    assert not hidden, "\n".join(hidden)


@pytest.mark.parametrize("relative", ["evidence/models.py", "evidence/services.py"])
def test_evidence_does_not_reach_up_into_legal_actors_witnesses_or_link_services(relative: str) -> None:
    above = ("casefile.legal", "casefile.actors", "casefile.witnesses", "casefile.links.services")
    upward = [
        f"casefile/{relative}:{line} imports {module}"
        for line, module, _inside in _runtime_imports(relative)
        if module.startswith(above)
    ]
    assert not upward, "\n".join(upward)


def test_the_link_table_depends_on_the_database_plumbing_only() -> None:
    # Any capability may read links; that stays free of circles only while the model imports no capability.
    assert {module for _line, module, _inside in _runtime_imports("links/models.py")} == {"casefile.db"}


def test_link_services_call_no_service_of_legal_or_actors() -> None:
    # legal's matrix and link analysis count links through casefile.links.services: the reverse would be a circle.
    called = {module for _line, module, _inside in _runtime_imports("links/services.py")}
    assert not {m for m in called if m.endswith(".services") and m != "casefile.links.services"} & {
        "casefile.legal.services",
        "casefile.actors.services",
        "casefile.witnesses.services",
    }
