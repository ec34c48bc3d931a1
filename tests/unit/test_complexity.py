"""The SCIM rules stay easy to change: no function of the `scim` package (PATCH, paths, filters, validation,
projection, discovery) or of the use cases over it (`resources`) has a cyclomatic complexity above 15, as radon (the
usual measure: one plus each branch, loop, boolean operator and comprehension condition) counts it. The PATCH
engine's two largest functions measured 34 each before it was split by operation and target shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.complexity import cc_visit

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "scim" / "python" / "scim_endpoint"
MEASURED = sorted([*(PACKAGE / "scim").glob("*.py"), *(PACKAGE / "resources").glob("*.py")])
BOUND = 15


def blocks(path: Path) -> list:
    """Every function and method of a module (a class's methods each on their own)."""
    found = []
    for block in cc_visit(path.read_text(encoding="utf-8")):
        found.extend(getattr(block, "methods", None) or [block])
    return found


@pytest.mark.parametrize("path", MEASURED, ids=[f"{p.parent.name}/{p.name}" for p in MEASURED])
def test_no_function_is_more_complex_than_the_bound(path: Path) -> None:
    too_complex = {f"{block.fullname}:{block.lineno}": block.complexity for block in blocks(path)
                   if block.complexity > BOUND}
    assert too_complex == {}


def test_the_measure_sees_the_patch_engine() -> None:
    """Not a vacuous bound: the measure finds the PATCH engine's functions, and counts branches."""
    measured = {block.name: block.complexity for block in blocks(PACKAGE / "scim" / "patch.py")}
    assert {"apply", "_operate", "_remove", "_set_filtered"} <= measured.keys()
    assert measured["_operate"] > 1
    source = "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(BOUND)) + "    return -1\n"
    assert cc_visit(source)[0].complexity == BOUND + 1
