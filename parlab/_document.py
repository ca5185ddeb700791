"""The JSON plumbing of parlab's results: one schema version, documents checked for it, frozen dataclasses in and out.

Every JSON document is an object with ``"schema"`` (the version below) and ``"kind"`` (what it
holds); nested objects carry neither, the document's version covers them. ``from_json``
refuses another kind, and another version except schema 1 documents of a kind that schema 2
left unchanged (see below). The data classes themselves are ``parlab.results``.

Schema history (``SCHEMA_VERSION``):

1. (2026-12) the first written schema: Timing, Metadata, AmdahlFit, SweepPoint, Sweep,
   TaskSpan, RunResult, PairedSpeedup; lesson 06's reference sets (``machine.json``) carry
   it too. A ``SweepPoint``'s ``run`` is not stored (it is ``null``): its results need not
   be JSON values, and points compare without it. Tuples come back as tuples where a field
   is a tuple; inside ``RunResult.results`` they come back as lists (JSON has no tuple).
2. (2026-12) ``AmdahlFit`` (kind ``"amdahl_fit"``) became ``SerialFractionEstimate`` (kind
   ``"serial_fraction_estimate"``): the serial-fraction (Karp-Flatt) estimate with the range
   ``low``..``high`` of its per-point values; it projects a ceiling only from
   ``MIN_CEILING_POINTS`` points or more. A ``Sweep``'s ``"fit"`` became ``"estimate"``, and
   it gained ``"waiting"`` (tasks that wait, whose ideal speedup is the worker count past the
   cores). Schema 1 documents of the other kinds (timings, metadata, lesson 06's reference
   sets, ...) read unchanged; a schema 1 sweep or fit is refused: its fit has no range, so
   measure again. Later, still schema 2: a sweep's optional ``"others_cores"`` (how many cores
   other programs kept busy while it ran; absent or null where it was not measured).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import Field, asdict, fields
from typing import Any, ClassVar, Self

__all__ = ["SCHEMA_VERSION", "Document", "open_document"]

SCHEMA_VERSION = 2
_CHANGED_IN_2 = frozenset({"sweep", "amdahl_fit", "serial_fraction_estimate"})  # see the history above


def open_document(data: str | bytes | Mapping[str, Any], kind: str) -> dict[str, Any]:
    """A JSON document (text or an already parsed object) checked for this schema and ``kind`` (lessons 00-06)."""
    obj = json.loads(data) if isinstance(data, (str, bytes)) else data
    if not isinstance(obj, Mapping):
        raise TypeError(f"a parlab {kind!r} document must be a JSON object, got {type(obj).__name__}")
    schema, got = obj.get("schema"), obj.get("kind")
    if schema == 1 and kind in _CHANGED_IN_2:
        raise ValueError(f"a parlab {kind!r} document of schema 1: schema {SCHEMA_VERSION} replaced its "
                         "Amdahl fit with a serial-fraction estimate and its range; measure again to write one")
    if schema not in (1, SCHEMA_VERSION):
        raise ValueError(f"a parlab {kind!r} document of schema {schema!r}: this parlab reads schema "
                         f"{SCHEMA_VERSION} (and schema 1 where nothing changed); measure again to write one")
    if got != kind:
        raise ValueError(f"expected a parlab {kind!r} document, got kind {got!r}")
    return dict(obj)


class Document:
    """to_json/from_json for a frozen dataclass: ``_fields`` out, ``_build`` back in."""

    KIND: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # every subclass is a dataclass

    def _fields(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def _build(cls, obj: Mapping[str, Any]) -> Self:
        # JSON has no tuple: a list read back is a tuple field's value (RunResult keeps its list).
        return cls(**{f.name: tuple(v) if isinstance(v := obj[f.name], list) else v
                      for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: ``schema``, ``kind`` and the fields."""
        return {"schema": SCHEMA_VERSION, "kind": self.KIND, **self._fields()}

    def to_json(self, indent: int | None = None) -> str:
        """The JSON text of ``to_dict()``."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> Self:
        """Read what ``to_json`` wrote (text or a parsed dict); another schema or kind is refused."""
        return cls._build(open_document(data, cls.KIND))
