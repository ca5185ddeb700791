"""The package's floor plan, read from the modules' own import statements (function-level ones too).

Every "never" of parlab/README.md is one entry of ``RULES`` below, and all of them are
enforced; the README's room table is also read as an allow-list (each room imports exactly
the rooms its row names, checked both ways, so the map cannot go stale). No import cycle.

``python tests/test_architecture.py [ROOT]`` prints the figures (modules, arrows, floors,
lines per module) for a checkout, so that two versions can be compared.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
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


def _in(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _is_lesson(name: str) -> bool:
    return _in(name, "parlab.lessons")


def _lesson_package(name: str) -> str | None:
    """``parlab.lessons.l04.children`` -> ``l04``; None for the shared lesson modules (check, words)."""
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and re.fullmatch(r"l\d\d", parts[2]) else None


SHARED_LESSON_MODULES = ("parlab.lessons.check", "parlab.lessons.words")  # and the package itself
LIGHT = ("parlab._worker", "parlab._clicks", "parlab._faults", "parlab.system", "parlab.slowserver")
STARTS_WORK = ("parlab.run", "parlab.launch", "parlab.mpi", "parlab.coord", "parlab.jobs", "parlab.kernels")


@dataclass(frozen=True)
class Rule:
    """One "never" of the map: ``broken(a, b)`` is True for an arrow a -> b that breaks it."""

    says: str
    broken: Callable[[str, str], bool]


RULES = [
    Rule("nothing outside lessons/ imports a lesson module, except the bench",
         lambda a, b: _is_lesson(b) and not _is_lesson(a) and not _in(a, "parlab.bench", "parlab.benches")),
    Rule("no lesson imports another lesson's package",
         lambda a, b: None not in (_lesson_package(a), _lesson_package(b))
         and _lesson_package(a) != _lesson_package(b)),
    Rule("the shared lesson modules (check, words) import no lesson package",
         lambda a, b: (a == "parlab.lessons" or _in(a, *SHARED_LESSON_MODULES)) and _lesson_package(b) is not None),
    Rule("the pool worker's side, click stamps, fault tasks, system and the slow server import nothing of parlab",
         lambda a, b: _in(a, *LIGHT) and b != "parlab"),
    Rule("_checks starts no work", lambda a, b: _in(a, "parlab._checks") and _in(b, *STARTS_WORK)),
    Rule("results hold data: never measure or run", lambda a, b: _in(a, "parlab.results")
         and _in(b, "parlab.measure", "parlab.run")),
    Rule("workloads never time, print or plot", lambda a, b: _in(a, "parlab.workloads")
         and _in(b, "parlab.measure", "parlab.plot", "parlab.widgets", "parlab.run", "parlab.results")),
    Rule("run holds no statistics and no plots", lambda a, b: _in(a, "parlab.run")
         and _in(b, "parlab.measure", "parlab.plot", "parlab.widgets")),
    Rule("measure prints and plots nothing", lambda a, b: _in(a, "parlab.measure")
         and _in(b, "parlab.plot", "parlab.widgets")),
    Rule("plot and widgets draw results: they never import run",
         lambda a, b: _in(a, "parlab.plot", "parlab.widgets") and _in(b, "parlab.run")),
    Rule("kernels and coord are leaves: never measure, plot, widgets or run",
         lambda a, b: _in(a, "parlab.kernels", "parlab.coord")
         and _in(b, "parlab.measure", "parlab.plot", "parlab.widgets", "parlab.run")),
    Rule("launch, coord, jobs, mpi and scripts hold no lesson logic and no plots",
         lambda a, b: _in(a, "parlab.launch", "parlab.coord", "parlab.jobs", "parlab.mpi", "parlab.scripts")
         and _in(b, "parlab.plot", "parlab.widgets", "parlab.measure")),
]


def broken_rules(graph: dict[str, set[str]]) -> list[str]:
    """Every arrow that breaks a rule, as "rule: a -> b"."""
    return sorted(f"{rule.says}: {a} -> {b}" for a, deps in graph.items() for b in deps
                  for rule in RULES if rule.broken(a, b))


def test_every_rule_of_the_map_holds() -> None:
    assert broken_rules(imports()) == []


def test_each_rule_catches_the_arrow_it_forbids() -> None:
    # A rule that cannot fail protects nothing: each one is shown an arrow it must refuse.
    forbidden = {
        RULES[0].says: ("parlab.plot", "parlab.lessons.l04.children"),
        RULES[1].says: ("parlab.lessons.l06.backends", "parlab.lessons.l04.children"),
        RULES[2].says: ("parlab.lessons.words", "parlab.lessons.l01.words"),
        RULES[3].says: ("parlab._worker", "parlab.run"),
        RULES[4].says: ("parlab._checks", "parlab.launch"),
        RULES[5].says: ("parlab.results", "parlab.measure"),
        RULES[6].says: ("parlab.workloads", "parlab.measure"),
        RULES[7].says: ("parlab.run", "parlab.measure"),
        RULES[8].says: ("parlab.measure", "parlab.plot"),
        RULES[9].says: ("parlab.widgets", "parlab.run"),
        RULES[10].says: ("parlab.kernels", "parlab.run"),
        RULES[11].says: ("parlab.jobs", "parlab.plot"),
    }
    assert set(forbidden) == {rule.says for rule in RULES}
    for rule in RULES:
        a, b = forbidden[rule.says]
        assert broken_rules({a: {b}}) == [f"{rule.says}: {a} -> {b}"]
    assert broken_rules({"parlab.lessons.l04.exercises": {"parlab.lessons.l04.children", "parlab.lessons.check",
                                                          "parlab.lessons.words", "parlab.coord"}}) == []


def test_no_parlab_module_but_the_mpi_programs_imports_mpi4py_mpi() -> None:
    # MPI never starts inside the Jupyter kernel: only the programs that mpiexec runs may import it.
    wrong = sorted(name for name, path in modules().items() if not _in(name, "parlab.scripts")
                   and re.search(r"^\s*(from mpi4py import MPI|import mpi4py\.MPI|from mpi4py\.MPI import)",
                                 path.read_text(), re.MULTILINE))
    assert wrong == []


def test_lesson_modules_live_in_their_lesson_package() -> None:
    loose = sorted(n for n in modules() if _is_lesson(n) and _lesson_package(n) is None
                   and n != "parlab.lessons" and not _in(n, *SHARED_LESSON_MODULES))
    assert loose == [], "a lesson module belongs in parlab/lessons/lNN/ (or is one of check, words)"
    assert len(list((ROOT / "parlab" / "lessons").glob("*.py"))) <= 5


def test_no_parlab_module_is_over_450_lines() -> None:
    long = {n: len(p.read_text().splitlines()) for n, p in modules().items()}
    assert {n: k for n, k in long.items() if k > 450} == {}


def test_tests_live_in_folders_that_mirror_the_code() -> None:
    top = sorted(p.name for p in (ROOT / "tests").iterdir() if p.is_file())
    assert len(top) <= 15, f"at most 15 files at the top of tests/ (helpers, conftest, whole-project checks): {top}"
    loose = [p.name for p in (ROOT / "tests" / "lessons").glob("test_*.py")
             if any(f"l0{n}" in p.name for n in range(10))]
    assert loose == [], "a test of one lesson belongs in tests/lessons/lNN/"


def test_no_import_cycle() -> None:
    graph = imports()
    floors(graph)  # raises on a cycle between modules
    floors(rooms(graph))  # and between packages: coord <-> scripts was one


def test_the_rules_catch_a_wrong_arrow(tmp_path: Path) -> None:
    # The reader must see a function-level import: a rule that cannot fail protects nothing.
    (tmp_path / "parlab" / "lessons").mkdir(parents=True)
    (tmp_path / "parlab" / "__init__.py").write_text("")
    (tmp_path / "parlab" / "lessons" / "__init__.py").write_text("")
    (tmp_path / "parlab" / "lessons" / "l09.py").write_text("from parlab import plot\n")
    (tmp_path / "parlab" / "plot.py").write_text("def f():\n    from parlab.lessons import l09\n")
    graph = imports(tmp_path)
    assert graph["parlab.plot"] == {"parlab.lessons.l09"}
    try:
        floors(graph)
    except ValueError as exc:
        assert "import cycle" in str(exc)
    else:
        raise AssertionError("a cycle went unseen")


def readme_rooms(root: Path = ROOT) -> dict[str, set[str]]:
    """The room table of parlab/README.md: {room: the parlab rooms its row says it imports}."""
    table: dict[str, set[str]] = {}
    for line in (root / "parlab" / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not re.fullmatch(r"\d+", cells[0]):
            continue
        allowed = set() if cells[3] in ("—", "any core room") else {
            "parlab." + n.strip("` /") for n in cells[3].split(",")}
        for room in re.findall(r"`([\w/]+)`", cells[1]):
            table["parlab." + room.strip("/").replace("/", ".")] = allowed
    return table


def test_the_readme_table_is_the_import_graph_both_ways() -> None:
    table = readme_rooms()
    folded = rooms(imports())
    # every room is in the table, and each row lists exactly what the room imports (no more, no less)
    assert sorted(set(folded) - set(table) - {"parlab"}) == []
    diffs = {room: {"imports but the row omits": sorted(folded[room] - allowed - {"parlab"}),
                    "the row lists but it never imports": sorted(allowed - folded[room])}
             for room, allowed in table.items()
             if room in folded and room not in ("parlab.lessons", "parlab.bench")
             and (folded[room] - allowed - {"parlab"} or allowed - folded[room])}
    assert diffs == {}


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
