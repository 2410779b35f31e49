"""The layering of `verify/` is enforced: data flows one way, and each module imports only from its
own layer or lower ones (every import counts, including those inside functions).

    errors, io  ->  numbers  ->  kernels  ->  model  ->  search | certify  ->  pipeline
                ->  claims  ->  reports  ->  cli

`search` and `certify` are siblings: neither imports the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import verify

ROOT = Path(verify.__file__).parent

LAYERS = {
    "verify": 0,
    "verify.errors": 0,
    "verify.io": 0,
    "verify.numbers": 1,
    "verify.kernels": 2,
    "verify.model": 3,
    "verify.search": 4,
    "verify.certify": 4,
    "verify.pipeline": 5,
    "verify.claims": 6,
    "verify.reports": 7,
    "verify.cli": 8,
}
SIBLINGS = {("verify.search", "verify.certify"), ("verify.certify", "verify.search")}


def layer_of(module: str) -> str:
    """The layer a dotted module name belongs to (its longest prefix in LAYERS)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        head = ".".join(parts[:n])
        if head in LAYERS:
            return head
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[str, int]]:
    """Every verify module imported by a file (absolute and relative, at any depth)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "verify"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] == "verify":
                # `from verify import kernels` imports the sub-package verify.kernels
                if name == "verify":
                    out += [(f"verify.{a.name}", node.lineno) for a in node.names]
                else:
                    out.append((name, node.lineno))
    return out


SOURCES = sorted(ROOT.rglob("*.py"))


def test_every_module_has_a_layer_and_imports():
    import importlib

    for path in SOURCES:
        layer_of(module_name(path))
        importlib.import_module(module_name(path))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_imports_flow_downward(path):
    me = layer_of(module_name(path))
    bad = []
    for name, line in imports_of(path):
        other = layer_of(name)
        if (me, other) in SIBLINGS or LAYERS[other] > LAYERS[me]:
            bad.append(f"line {line}: {me} imports {name} ({other})")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_violations(tmp_path):
    """The checker itself can fail: a planted sibling import (certify -> search) and a relative
    upward import (certify -> claims) inside a function are both found and both flagged."""
    planted = tmp_path / "verify" / "certify" / "_planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("def f():\n    from verify.search.global_search import search_simplified\n"
                       "    from ..claims import schema\n")
    names = [n for n, _ in imports_of(planted, tmp_path / "verify")]
    assert names == ["verify.search.global_search", "verify.claims"]
    assert ("verify.certify", layer_of(names[0])) in SIBLINGS
    assert LAYERS[layer_of(names[1])] > LAYERS["verify.certify"]
