"""The package's floor plan, read from the modules' own import statements (function-level ones too).

Rules (parlab/README.md draws the map):
- nothing outside ``parlab.lessons`` imports a lesson module, except the bench groups;
- ``plot`` and ``widgets`` draw results: they never import ``run``;
- ``kernels`` and ``coord`` are leaves of the library: never ``measure``, ``plot`` or ``widgets``;
- no import cycle.

``python tests/test_architecture.py [ROOT]`` prints the figures (modules, arrows, floors,
lines per module) for a checkout, so that two versions can be compared.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the parlab package under ``root``, by dotted name."""
    return {module_name(p, root): p for p in sorted((root / "parlab").rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    # "parlab.run.WorkerPool" -> "parlab.run": the longest known prefix.
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(root: Path = ROOT) -> dict[str, set[str]]:
    """{module: the parlab modules it imports}, at any depth in the file."""
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        found: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                    + ([base] if base else []))
                # "from parlab import system" imports the module parlab.system; a name that is
                # no module ("from parlab.run import WorkerPool") comes from the module base.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            for target in targets:
                if target.split(".")[0] != "parlab":
                    continue
                hit = _resolve(target, known)
                if hit and hit != name:
                    found.add(hit)
        graph[name] = found
    return graph


def floors(graph: dict[str, set[str]]) -> dict[str, int]:
    """Floor of each module: 0 for one that imports nothing of parlab, else 1 + its highest import."""
    memo: dict[str, int] = {}

    def floor(name: str, seen: tuple[str, ...] = ()) -> int:
        if name in seen:
            raise ValueError(f"import cycle: {' -> '.join((*seen[seen.index(name):], name))}")
        if name not in memo:
            memo[name] = 1 + max((floor(m, (*seen, name)) for m in graph[name]), default=-1)
        return memo[name]

    for name in graph:
        floor(name)
    return memo


def _is_lesson(name: str) -> bool:
    return name == "parlab.lessons" or name.startswith("parlab.lessons.")


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_nothing_but_lessons_and_the_bench_imports_a_lesson_module() -> None:
    wrong = sorted(f"{a} -> {b}" for a, deps in imports().items() for b in deps
                   if _is_lesson(b) and not _is_lesson(a) and not _in(a, "parlab.benches"))
    assert wrong == []


def test_plot_and_widgets_never_import_run() -> None:
    graph = imports()
    assert {m for m in graph["parlab.plot"] | graph["parlab.widgets"] if _in(m, "parlab.run")} == set()


def test_kernels_and_coord_stay_below_measure_plot_and_widgets() -> None:
    above = ("parlab.measure", "parlab.plot", "parlab.widgets", "parlab.run")
    wrong = sorted(f"{a} -> {b}" for a, deps in imports().items() for b in deps
                   if (_in(a, "parlab.kernels") or _in(a, "parlab.coord")) and b in above)
    assert wrong == []


def test_no_import_cycle() -> None:
    graph = imports()
    floors(graph)  # raises on a cycle between modules
    floors(rooms(graph))  # and between packages: coord <-> scripts was one


def test_the_rules_catch_a_wrong_arrow(tmp_path: Path) -> None:
    # The reader must see a function-level import: a rule that cannot fail protects nothing.
    (tmp_path / "parlab" / "lessons").mkdir(parents=True)
    (tmp_path / "parlab" / "__init__.py").write_text("")
    (tmp_path / "parlab" / "lessons" / "__init__.py").write_text("")
    (tmp_path / "parlab" / "lessons" / "l09_x.py").write_text("from parlab import plot\n")
    (tmp_path / "parlab" / "plot.py").write_text("def f():\n    from parlab.lessons import l09_x\n")
    graph = imports(tmp_path)
    assert graph["parlab.plot"] == {"parlab.lessons.l09_x"}
    try:
        floors(graph)
    except ValueError as exc:
        assert "import cycle" in str(exc)
    else:
        raise AssertionError("a cycle went unseen")


def rooms(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph with every subpackage folded into one room (``parlab.coord.board`` -> ``parlab.coord``)."""
    def room(name: str) -> str:
        top = ".".join(name.split(".")[:2])
        return "parlab.bench" if top == "parlab.benches" else top  # the bench's groups are the bench

    folded: dict[str, set[str]] = {}
    for name, deps in graph.items():
        folded.setdefault(room(name), set()).update(room(d) for d in deps)
    return {name: deps - {name} for name, deps in folded.items()}


def figures(root: Path = ROOT) -> str:
    """Rooms, modules, arrows, floors and lines per module of the checkout at ``root``."""
    graph = imports(root)
    level = floors(graph)
    folded = rooms(graph)
    lines = {n: len(p.read_text().splitlines()) for n, p in modules(root).items()}
    try:
        room_floors = f"{max(floors(folded).values()) + 1} floors"
    except ValueError as exc:  # folding can close a cycle that modules alone do not have
        room_floors = str(exc)
    out = [f"{len(folded)} rooms (packages folded), {sum(map(len, folded.values()))} arrows, {room_floors}",
           (f"{len(graph)} modules, {sum(map(len, graph.values()))} arrows, "
            f"{max(level.values()) + 1} floors, {sum(lines.values())} lines")]
    for name in sorted(graph, key=lambda n: (level[n], n)):
        out.append(f"  floor {level[name]:>2}  {lines[name]:>4} lines  {name}")
    return "\n".join(out)


if __name__ == "__main__":
    print(figures(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT))
