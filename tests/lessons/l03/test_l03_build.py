"""Lesson 03's Cython helper: builds a source string into a module, cached by hash; never raises for a
failed build; guards the %%cython magic before a cell could stop "Run all"."""

from __future__ import annotations

import pytest

from parlab.lessons.l03 import build as l03_compile

SOURCE = '''
# cython: language_level=3, freethreading_compatible=True
def triangle(long long n):
    cdef long long i, total = 0
    with nogil:
        for i in range(n + 1):
            total += i
    return total
'''


@pytest.fixture
def compiler(require):
    why = l03_compile.cython_ready()
    require(not why, "a C compiler with Cython and setuptools", why)


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLAB_CYTHON_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_builds_imports_and_caches_by_hash(compiler):
    first = l03_compile.compile_cython(SOURCE)
    assert first.ok, first.problem
    assert first.function("triangle")(100) == 5050
    again = l03_compile.compile_cython(SOURCE)
    # no second build: the very module object comes back, from the cache by the source's hash
    assert again.cached and again.function("triangle") is first.function("triangle")
    assert first.function("missing") is None


@pytest.mark.slow
def test_a_new_cache_folder_builds_once_then_loads(compiler, own_cache):
    source = SOURCE + "\n# built into its own cache\n"
    built = l03_compile.compile_cython(source)
    assert built.ok and not built.cached
    assert list(own_cache.glob("_parlab_cy_*"))
    assert l03_compile.compile_cython(source).cached


@pytest.mark.slow
def test_cythons_error_comes_back_as_words_with_its_line(compiler, own_cache):
    broken = SOURCE.replace("total += i", "total += len(str(i))")
    result = l03_compile.compile_cython(broken)
    assert not result.ok and result.kind == "cython error"
    assert result.module is None and result.function("triangle") is None
    assert any(m.startswith("line 7:") and "without gil" in m for m in result.messages)
    assert "Cython could not compile your source" in result.problem
    again = l03_compile.compile_cython(broken)  # a refused source is remembered, not rebuilt
    assert again.cached and again.messages == result.messages


@pytest.mark.slow
def test_a_syntax_error_is_a_cython_error_too(compiler, own_cache):
    result = l03_compile.compile_cython("def f(:\n    pass\n")
    assert result.kind == "cython error" and result.messages[0].startswith("line 1:")


def test_no_compiler_is_a_message_not_an_exception(monkeypatch):
    monkeypatch.setattr(l03_compile.system, "find_compiler", lambda: None)
    result = l03_compile.compile_cython(SOURCE)
    assert not result.ok and result.kind == "no compiler"
    for how in ("build-essential", "xcode-select --install", "Build Tools"):
        assert how in result.problem


def test_bad_input_is_refused_before_any_work():
    with pytest.raises(TypeError, match="non-empty string"):
        l03_compile.compile_cython(b"def f(): pass")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty string"):
        l03_compile.compile_cython("   ")
    with pytest.raises(ValueError, match="seconds"):
        l03_compile.compile_cython(SOURCE, timeout=0)


class FakeShell:
    def __init__(self) -> None:
        self.registered: dict[tuple[str, str], object] = {}

    def register_magic_function(self, fn: object, kind: str, name: str) -> None:
        self.registered[(kind, name)] = fn


def test_guard_leaves_the_magic_alone_when_it_can_compile(compiler):
    shell = FakeShell()
    assert "compile here" in l03_compile.guard_cython_magic(shell)
    assert not shell.registered


def test_guard_swaps_in_a_stand_in_that_explains(monkeypatch, capsys):
    monkeypatch.setattr(l03_compile.system, "find_compiler", lambda: None)
    shell = FakeShell()
    said = l03_compile.guard_cython_magic(shell)
    assert "will not compile here" in said and "build-essential" in said
    stand_in = shell.registered[("cell", "cython")]
    stand_in("", "def f(): pass")  # type: ignore[operator]
    assert "was not compiled" in capsys.readouterr().out
