"""usage: python -m parlab.scripts.wordcount [--top N] FILE [FILE ...]

Counts the lines and words of each text file and prints one JSON line:
``{"files": [{"file": name, "lines": n, "words": n, "top": [[word, count], ...]}, ...]}``.
A file that cannot be read ends the program with exit code 2 and a message on stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["CORPUS", "corpus_files", "count_file", "count_words", "main"]

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus"
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def corpus_files() -> list[Path]:
    """The text files of the small corpus in ``data/corpus``, sorted by name (lesson 04)."""
    files = sorted(CORPUS.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no .txt files in {CORPUS}: the corpus ships with the repository")
    return files


def count_words(text: str) -> Counter[str]:
    """Lower-cased words of ``text`` and how often each occurs (lesson 04)."""
    return Counter(_WORD.findall(text.lower()))


def count_file(path: str | Path, top: int = 3) -> dict[str, Any]:
    """Lines, words and the most common words of one file, as JSON-ready data (lesson 04)."""
    text = Path(path).read_text(encoding="utf-8")
    counts = count_words(text)
    common = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return {"file": Path(path).name, "lines": len(text.splitlines()), "words": sum(counts.values()),
            "top": [list(item) for item in common]}


def main(argv: list[str] | None = None) -> int:
    """Count every file named on the command line and print the JSON line (lesson 04)."""
    parser = argparse.ArgumentParser(prog="python -m parlab.scripts.wordcount",
                                     description="Count lines and words of text files; print JSON.")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--top", type=int, default=3, metavar="N", help="most common words to list")
    args = parser.parse_args(argv)
    results = []
    for name in args.files:
        try:
            results.append(count_file(name, args.top))
        except (OSError, UnicodeDecodeError) as exc:
            print(f"wordcount: cannot read {name!r}: {exc.strerror if isinstance(exc, OSError) else exc}",
                  file=sys.stderr)
            return 2
    print(json.dumps({"files": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
