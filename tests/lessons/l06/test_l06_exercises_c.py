"""Lesson 06c's exercise checkers: the solutions are right, the blanks "not answered", wrong answers named."""

from __future__ import annotations

import textwrap

import pytest

from parlab.lessons.l06 import exercises_c as ex
from parlab.lessons.l06 import profiling
from parlab.measure import amdahl_speedup


@pytest.fixture(scope="module")
def stats():
    return profiling.profile_program(6)


# --------------------------------------------------------------------------- exercise 1: the serial hot spot

@pytest.mark.parametrize("answer", ["make_seeds", "make_seeds()", "profiling.make_seeds", " 'make_seeds' ",
                                    profiling.make_seeds], ids=["name", "call", "dotted", "quoted", "function"])
def test_hot_spot_right_in_several_spellings(stats, answer):
    v = ex.check_hot_spot(answer, stats)
    assert v.status == "right", str(v)
    assert v.headline == "make_seeds is the costliest function outside the parallel loop."
    v.must_be_right()


@pytest.mark.parametrize("blank", ["___", ..., None])
def test_hot_spot_placeholder_is_not_answered(stats, blank):
    v = ex.check_hot_spot(blank, stats)
    assert v.status == "not answered" and "set serial_hot_spot to the name of a function" in v.headline


def test_hot_spot_the_parallel_task_is_named_as_the_parallel_part(stats):
    v = ex.check_hot_spot("score", stats)
    assert v.status == "wrong"
    assert "it is the task of the parallel loop" in v.headline and "runs once, outside the loop" in v.hint
    with pytest.raises(AssertionError, match="task of the parallel loop"):
        v.must_be_right()


def test_hot_spot_the_whole_program_is_not_a_hot_spot(stats):
    v = ex.check_hot_spot("program", stats)
    assert v.status == "wrong" and "holds the whole run, serial and parallel alike" in v.headline


def test_hot_spot_the_cheaper_serial_function(stats):
    v = ex.check_hot_spot("merge", stats)
    assert v.status == "wrong" and v.headline.startswith("merge is serial, but it costs")
    assert "Compare the cumtime column" in v.hint


def test_hot_spot_a_builtin_from_the_listing(stats):
    v = ex.check_hot_spot("{built-in method builtins.sorted}", stats)
    assert v.status == "wrong" and "is not one of the program's functions in the profile" in v.headline


def test_hot_spot_not_a_name(stats):
    v = ex.check_hot_spot(0.056, stats)
    assert v.status == "wrong" and "write the function's name as a string" in v.headline


def test_hot_spot_a_profile_of_something_else():
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(sum, [1, 2])
    v = ex.check_hot_spot("make_seeds", pstats.Stats(profiler))
    assert v.status == "wrong" and "holds none of the program's serial functions" in v.headline


# --------------------------------------------------------------------------- exercise 2: predict from the profile

SERIAL_S, TOTAL_S = 0.05, 0.30


def placeholder_predict(serial_s, total_s, workers):
    ...  # the notebook's placeholder


def solution_predict(serial_s, total_s, workers):
    f = serial_s / total_s
    return 1 / (f + (1 - f) / workers)


def in_seconds(serial_s, total_s, workers):
    return total_s / (serial_s + (total_s - serial_s) / workers)


def with_parlab(serial_s, total_s, workers):
    return amdahl_speedup(serial_s / total_s, workers)


@pytest.mark.parametrize("fn", [solution_predict, in_seconds, with_parlab])
@pytest.mark.slow
def test_predict_right_written_several_ways(fn):
    v = ex.check_predict(fn, SERIAL_S, TOTAL_S)
    assert v.status == "right", str(v)
    assert "predict gives Amdahl's speedup" in v.headline and "(f = 0.167)" in v.details


def test_predict_placeholder_is_not_answered():
    v = ex.check_predict(placeholder_predict, SERIAL_S, TOTAL_S)
    assert v.status == "not answered" and "fill in predict(serial_s, total_s, workers)" in v.headline


@pytest.mark.parametrize(("fn", "hint"), [
    (lambda s, t, k: s / t, "That is the serial share f itself"),
    (lambda s, t, k: 1 / ((1 - s / t) + (s / t) / k), "f and 1 - f are swapped"),
    (lambda s, t, k: t / s, "That is the ceiling 1 / f"),
    (lambda s, t, k: k, "That is the ideal speedup, as if nothing were serial"),
    (lambda s, t, k: 1 / (s + (1 - s) / k), "With f = serial_s / total_s"),  # seconds used as the share
], ids=["the share", "swapped", "the ceiling", "the ideal", "seconds as f"])
def test_predict_wrong_answers_are_named(fn, hint):
    v = ex.check_predict(fn, SERIAL_S, TOTAL_S)
    assert v.status == "wrong", str(v)
    assert "is not Amdahl's speedup" in v.headline and v.hint.startswith(hint)


def test_predict_returning_nothing():
    def forgot(serial_s, total_s, workers):
        serial_s / total_s  # the learner's slip: no return

    v = ex.check_predict(forgot, SERIAL_S, TOTAL_S)
    assert v.status == "wrong" and "returned None, not a number" in v.headline


def test_predict_raising_is_an_error():
    v = ex.check_predict(lambda s, t, k: s / (t - t), SERIAL_S, TOTAL_S)
    assert v.status == "error" and "raised ZeroDivisionError" in v.headline


# --------------------------------------------------------------------------- exercise 3: profile the pool's workers

HEADER = "import cProfile\nimport os\nimport uuid\n\nfrom parlab.lessons.l06.profiling import score\n\n\n"
MODULES = {
    "solution": """
        def profiled_score(seed, folder):
            profiler = cProfile.Profile()
            result = profiler.runcall(score, seed)
            profiler.dump_stats(os.path.join(folder, f"score-{os.getpid()}-{seed}.prof"))
            return result
    """,
    "enable_disable": """
        def profiled_score(seed, folder):
            profiler = cProfile.Profile()
            profiler.enable()
            try:
                value = score(seed)
            finally:
                profiler.disable()
            profiler.dump_stats(os.path.join(folder, uuid.uuid4().hex + ".pstats"))
            return value
    """,
    "one_profiler_per_process": """
        PROFILER = cProfile.Profile()

        def profiled_score(seed, folder):
            PROFILER.enable()
            value = score(seed)
            PROFILER.disable()
            PROFILER.dump_stats(os.path.join(folder, f"worker-{os.getpid()}.prof"))
            return value
    """,
    "placeholder": '''
        def profiled_score(seed, folder):
            """Return score(seed), profiled, with the profile saved in folder."""
            ...
    ''',
    "no_return": """
        def profiled_score(seed, folder):
            profiler = cProfile.Profile()
            profiler.runcall(score, seed)
            profiler.dump_stats(os.path.join(folder, f"{seed}.prof"))
    """,
    "no_dump": """
        def profiled_score(seed, folder):
            profiler = cProfile.Profile()
            return profiler.runcall(score, seed)
    """,
    "one_file_per_process": """
        def profiled_score(seed, folder):
            profiler = cProfile.Profile()
            result = profiler.runcall(score, seed)
            profiler.dump_stats(os.path.join(folder, f"worker-{os.getpid()}.prof"))
            return result
    """,
    "profiler_never_on": """
        def profiled_score(seed, folder):
            profiler = cProfile.Profile()
            result = score(seed)
            profiler.dump_stats(os.path.join(folder, f"{seed}.prof"))
            return result
    """,
    "score_twice": """
        def profiled_score(seed, folder):
            profiler = cProfile.Profile()
            profiler.runcall(score, seed)
            profiler.runcall(score, seed)
            profiler.dump_stats(os.path.join(folder, f"{seed}.prof"))
            return score(seed)
    """,
    "not_a_profile": """
        def profiled_score(seed, folder):
            with open(os.path.join(folder, f"{seed}.txt"), "w") as fh:
                fh.write("score took a while")
            return score(seed)
    """,
}


@pytest.fixture
def module(tmp_path, monkeypatch):
    """Write one of MODULES as l06c_NAME.py on sys.path (spawn workers inherit it); return its name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(key: str) -> str:
        name = f"l06c_{key}"
        (tmp_path / f"{name}.py").write_text(HEADER + textwrap.dedent(MODULES[key]))
        return name

    return write


@pytest.mark.parametrize("key", ["solution", "enable_disable", "one_profiler_per_process"])
def test_profiled_worker_right_written_several_ways(module, key):
    v = ex.check_profiled_worker(module(key))
    assert v.status == "right", str(v)
    assert "the merged profiles count every call of score" in v.headline and "6 call(s) of score" in v.details


def test_profiled_worker_placeholder_is_not_answered(module):
    v = ex.check_profiled_worker(module("placeholder"))
    assert v.status == "not answered" and "write profiled_score in the %%writefile cell" in v.headline


@pytest.mark.parametrize(("key", "status", "headline", "hint"), [
    ("no_return", "wrong", "profiled_score returned None", "Return score(seed)'s result"),
    ("no_dump", "wrong", "no profile was saved in folder", "dump_stats"),
    ("one_file_per_process", "wrong", "tasks saved over each other's files", "its own name"),
    ("profiler_never_on", "wrong", "hold no call of score", "profiler.enable() before"),
    ("score_twice", "wrong", "score ran more than once per task", "Call score(seed) once"),
    ("not_a_profile", "wrong", "are not profiles pstats can read", "dump_stats(path)"),
])
def test_profiled_worker_wrong_answers_are_named(module, key, status, headline, hint):
    v = ex.check_profiled_worker(module(key))
    assert v.status == status, str(v)
    assert headline in v.headline and hint in v.hint


def test_profiled_worker_missing_module_and_bad_name():
    v = ex.check_profiled_worker("l06c_not_written_yet")
    assert v.status == "wrong" and "there is no module 'l06c_not_written_yet'" in v.headline
    assert "%%writefile l06c_not_written_yet.py" in v.hint
    v = ex.check_profiled_worker(42)
    assert v.status == "wrong" and "pass the module's name as a string" in v.headline
