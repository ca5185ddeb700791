"""Results as data: JSON round trips, refused schemas and kinds, the one sweep builder, reference sets."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from parlab.lessons.l06 import backends, reference
from parlab.measure import (
    ResultMismatch,
    amdahl_speedup,
    build_sweep,
    check_same,
    paired_speedup,
    timing_from,
    worker_counts,
)
from parlab.results import (
    SCHEMA_VERSION,
    Metadata,
    PairedSpeedup,
    RunResult,
    SerialFractionEstimate,
    Sweep,
    SweepPoint,
    TaskSpan,
    Timing,
    load_sweep,
    save_sweep,
)

META = Metadata(4, "3.12.1", "CPython", False, True, "forkserver", "Linux x86_64", "2026-12-01T10:00:00+00:00")
SERIAL = timing_from([1.0, 1.1, 0.9], [1.3])
RUN = RunResult([1, 2, "three"], [TaskSpan(0, 0, 0.0, 0.5), TaskSpan(1, 1, 0.1, 0.6)], 0.7, "threads", 2,
                None, 0.01, ["w0", "w1"])


def _sweep(run: RunResult | None = None, **options: bool) -> Sweep:
    measured = [(1, timing_from([1.0, 1.05]), 0.01, run), (2, timing_from([0.5, 0.55, 0.6]), 0.02, None),
                (4, timing_from([0.3, 0.31]), 0.03, None), (8, timing_from([0.3, 0.4]), 0.04, None)]
    return build_sweep("fib on threads", "threads", None, 12, SERIAL, measured, metadata=META,
                       workload="fib(20) x 12", **options)


# --------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("value", [
    SERIAL, META, SerialFractionEstimate(0.125, 3, 0.1, 0.15), TaskSpan(3, 1, 0.25, 0.75), RUN,
    SweepPoint(2, SERIAL, 0.01, 1.9, 1.8, 2.0, 0.95, False), _sweep(),
    PairedSpeedup(2, (1.0, 1.1), (0.5, 0.6)), _sweep(waiting=True), _sweep(estimate=False),
], ids=lambda v: type(v).__name__)
def test_every_result_survives_a_json_round_trip(value):
    text = value.to_json()
    doc = json.loads(text)
    assert doc["schema"] == SCHEMA_VERSION and doc["kind"] == type(value).KIND
    assert type(value).from_json(text) == value
    assert type(value).from_json(doc) == value  # a parsed dict is accepted too


def test_a_sweep_drops_its_runs_and_still_compares_equal(tmp_path):
    sweep = _sweep(RUN)
    assert sweep.points[0].run is RUN
    assert json.loads(sweep.to_json())["points"][0]["run"] is None
    back = load_sweep(save_sweep(sweep, tmp_path / "sweep.json"))
    assert back == sweep and back.points[0].run is None
    assert back.summary() == sweep.summary()


def test_another_schema_or_kind_is_refused_naming_both():
    doc = SERIAL.to_dict()
    with pytest.raises(ValueError, match=rf"schema 99: this parlab reads schema {SCHEMA_VERSION} "):
        Timing.from_json({**doc, "schema": 99})
    with pytest.raises(ValueError, match=r"schema None"):
        Timing.from_json({k: v for k, v in doc.items() if k != "schema"})
    with pytest.raises(ValueError, match=r"expected a parlab 'sweep' document, got kind 'timing'"):
        Sweep.from_json(doc)
    with pytest.raises(TypeError, match="JSON object"):
        Timing.from_json("[1, 2]")


def test_schema_1_reads_where_nothing_changed_and_refuses_sweeps():
    assert SCHEMA_VERSION == 2
    assert Timing.from_json({**SERIAL.to_dict(), "schema": 1}) == SERIAL
    assert Metadata.from_json({**META.to_dict(), "schema": 1}) == META
    old = {**_sweep().to_dict(), "schema": 1}
    with pytest.raises(ValueError, match=r"'sweep' document of schema 1: .*serial-fraction estimate.*measure again"):
        Sweep.from_json(old)
    fit = {"schema": 1, "kind": "serial_fraction_estimate", "serial_fraction": 0.1, "points_used": 2}
    with pytest.raises(ValueError, match="schema 1"):
        SerialFractionEstimate.from_json(fit)


def test_run_result_is_frozen_and_keeps_results_a_list():
    assert RUN.results == [1, 2, "three"] and isinstance(RUN.timeline, tuple)
    with pytest.raises(AttributeError):
        RUN.wall_s = 1.0  # type: ignore[misc]


# --------------------------------------------------------------------------- the one sweep builder

def test_build_sweep_fields():
    sweep = _sweep()
    base = SERIAL.median
    two = sweep.points[1]
    assert two.speedup == pytest.approx(base / 0.55) and two.efficiency == pytest.approx(two.speedup / 2)
    q1, q3 = two.timing.quartiles
    assert (two.speedup_low, two.speedup_high) == (pytest.approx(base / q3), pytest.approx(base / q1))
    assert [p.oversubscribed for p in sweep.points] == [False, False, False, True]
    assert sweep.estimate is not None and sweep.estimate.points_used == 2  # 1 < k <= 4 cores: k = 2 and 4
    assert sweep.estimate.ceiling is None  # two points project no ceiling
    assert sweep.metadata is META and sweep.workload == "fib(20) x 12" and sweep.tasks == 12
    alone = build_sweep("one", "threads", None, 1, SERIAL, [(1, SERIAL, 0.0, None)], metadata=META)
    assert alone.estimate is None and alone.points[0].speedup == 1.0


def test_worker_counts_keep_both_spreads():
    assert worker_counts(6) == worker_counts(6, even=True) == [1, 2, 3, 4, 5, 6]
    assert worker_counts(32) == [1, 2, 4, 16, 24, 32]
    assert worker_counts(32, even=True) == [1, 2, 4, 8, 12, 16, 20, 24, 28, 32]
    with pytest.raises(ValueError, match=">= 1"):
        worker_counts(0)


def test_check_same_and_paired_speedup_raise_one_exception_type():
    check_same([1, 2], [1, 2], "threads")
    with pytest.raises(ResultMismatch, match=r"threads returned a result that differs .* got \[1, 3\]"):
        check_same([1, 2], [1, 3], "threads")
    assert issubclass(ResultMismatch, AssertionError)
    near = paired_speedup(lambda: (1.0, 2.0), lambda: (1.0 + 1e-12, 1.0), workers=2, pairs=3, warmup=0,
                          own_times=True, same=lambda a, b: abs(a - b) < 1e-9)
    assert near.speedup == 2.0 and near.pairs == 3 and near.serial_median == 2.0
    with pytest.raises(ResultMismatch):
        paired_speedup(lambda: 1, lambda: 2, workers=2, pairs=1)


# --------------------------------------------------------------------------- reference sets

def test_a_reference_set_of_another_workload_is_refused(tmp_path):
    meta = reference.machine_metadata("box") | {"workload": backends.describe_workload(64)}
    reference.save_reference([], meta, tmp_path / "box")
    ref = reference.load_reference("box", root=tmp_path)
    assert ref.metadata.usable_cores == meta["usable_cores"]
    reference.check_comparable(ref, backends.describe_workload(64))
    with pytest.raises(ValueError, match=r"measured 'count_primes in 64 windows.*but these sweeps measured "
                                         r"'count_primes in 8 windows.*do not compare"):
        reference.check_comparable(ref, backends.describe_workload(8))


def test_a_reference_set_of_an_unknown_schema_is_refused(tmp_path):
    reference.save_reference([], reference.machine_metadata("old"), tmp_path / "old")
    path = tmp_path / "old" / reference.JSON_NAME
    machine = json.loads(path.read_text())
    del machine["schema"]  # as parlab wrote sets before schema 1
    path.write_text(json.dumps(machine))
    with pytest.raises(ValueError,
                       match=rf"reference set 'old' .*schema None: this parlab reads schema {SCHEMA_VERSION}"):
        reference.load_reference("old", root=tmp_path)


def test_reference_rows_are_the_sweep_table_with_backend_and_baseline():
    sweeps = {"serial": _sweep()}
    rows = reference.reference_rows(sweeps)
    assert [r["workers"] for r in rows] == sweeps["serial"].workers
    assert all(r["backend"] == "serial" and r["baseline"] == "python" for r in rows)
    assert rows[1]["speedup"] == sweeps["serial"].table()[1]["speedup"]


# --------------------------------------------------------------------------- the estimate in summaries

def _amdahl_sweep(cores: int, ks: tuple[int, ...], fraction: float = 0.1, wobble: float = 0.0,
                  **options: bool) -> Sweep:
    meta = Metadata(cores, "3.13.0", "CPython", False, True, "fork", "Linux x86_64", "2026-12-01T10:00:00+00:00")
    measured = [(k, timing_from([(1 + wobble * k) / amdahl_speedup(fraction, k)]), 0.0, None) for k in ks]
    return build_sweep("demo", "processes", None, 16, timing_from([1.0]), measured, metadata=meta, **options)


def test_the_summary_names_the_estimate_and_why_two_cores_project_no_ceiling():
    text = _amdahl_sweep(2, (1, 2, 4)).summary()
    assert "Amdahl fit" not in text
    assert "serial-fraction estimate 0.100 (per point 0.100) from 1 point within the 2 usable cores" in text
    assert "Karp–Flatt" in text and "overhead" in text
    assert "no ceiling projected: it takes 3 points" in text and "this estimate has 1" in text
    assert "projected ceiling:" not in text


@pytest.mark.parametrize("cores", [16, 64])
def test_the_summary_projects_a_ceiling_from_three_points_within_the_cores(cores):
    text = _amdahl_sweep(cores, (1, 2, 4, 8, 16)).summary()
    assert f"from 4 points within the {cores} usable cores" in text
    assert "projected ceiling: 10.00× however many cores" in text and "no ceiling" not in text
    assert "per point 0.100–0.100" in text  # an exact Amdahl curve: every point agrees


def test_the_summary_says_why_a_zero_estimate_projects_no_ceiling_and_omits_a_left_out_estimate():
    assert "no ceiling projected: the estimate is 0" in _amdahl_sweep(16, (1, 2, 4, 8), fraction=0.0).summary()
    text = _amdahl_sweep(16, (1, 2, 4, 8), estimate=False).summary()
    assert "estimate" not in text and "ceiling" not in text


def _sanitize(text: str) -> str:
    lines = (Path(__file__).resolve().parents[1] / "sanitize.cfg").read_text().splitlines()
    rules = [(a[len("regex: "):], b[len("replace: "):]) for a, b in itertools.pairwise(lines)
             if a.startswith("regex: ") and b.startswith("replace: ")]
    for regex, replace in rules:
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize("cores", [2, 16])
def test_the_sanitize_file_masks_the_estimates_numbers(cores):
    # Same machine and worker counts, other measured numbers: the estimate's lines compare equal.
    one = _amdahl_sweep(cores, (1, 2, 4, 8))
    other = _amdahl_sweep(cores, (1, 2, 4, 8), fraction=0.2, wobble=0.01)
    assert one.estimate is not None and other.estimate is not None
    assert one.estimate.summary(cores) != other.estimate.summary(cores)
    assert _sanitize(one.estimate.summary(cores)) == _sanitize(other.estimate.summary(cores))


def test_the_summary_names_a_slowdown_and_a_superlinear_point_behind_a_clamped_estimate():
    meta = Metadata(4, "3.13.0", "CPython", False, True, "fork", "Linux x86_64", "2026-12-01T10:00:00+00:00")
    convoy = build_sweep("convoy", "threads", None, 8, timing_from([1.0]),
                         [(k, timing_from([t]), 0.0, None) for k, t in ((1, 1.0), (2, 1.6), (4, 1.7))], metadata=meta)
    text = convoy.summary()
    assert "slower than serial on 2 and 4 workers (the estimate is capped at 1)" in text
    assert "overhead" in text and "superlinear" not in text
    fast = build_sweep("cache", "processes", None, 8, timing_from([1.0]),
                       [(k, timing_from([t]), 0.0, None) for k, t in ((1, 1.0), (2, 0.4), (4, 0.3))], metadata=meta)
    text = fast.summary()
    assert "superlinear on 2 workers" in text and "floored at 0" in text and "slower" not in text
