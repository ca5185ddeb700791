"""usage: python -m parlab.scripts.hello [--sleep S] [--exit-code N] [--raise] [--signal NAME] [--grandchild] [ARG ...]

Prints one JSON line: the arguments it received, exactly as the parent passed them, and its
process id. The options make it misbehave on purpose, so that lesson 04 and the tests can
show what a parent sees when a child hangs, fails, crashes or leaves a grandchild running.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``hello`` (lesson 04)."""
    parser = argparse.ArgumentParser(prog="python -m parlab.scripts.hello",
                                     description="Echo the arguments as JSON; misbehave on request.")
    parser.add_argument("args", nargs="*", help="anything: echoed back as a JSON list")
    parser.add_argument("--sleep", type=float, default=0.0, metavar="S", help="sleep S seconds first")
    parser.add_argument("--exit-code", type=int, default=0, metavar="N", help="exit with code N")
    parser.add_argument("--raise", dest="fail", action="store_true", help="raise an exception")
    parser.add_argument("--signal", metavar="NAME", help="kill itself with this signal, e.g. SIGKILL")
    parser.add_argument("--grandchild", action="store_true",
                        help="start a grandchild that sleeps 60 s (it must not outlive us)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Echo, then misbehave as asked (lesson 04)."""
    args = parse(argv)
    if args.signal and args.signal not in signal.Signals.__members__:
        print(f"hello: unknown signal {args.signal!r}; use a name such as SIGKILL or SIGTERM",
              file=sys.stderr)
        return 2
    out = {"args": args.args, "pid": os.getpid()}
    if args.grandchild:
        # Sleeps in our process group; its output goes nowhere so it does not hold our pipes.
        grand = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        out["grandchild"] = grand.pid
        print(f"hello: started grandchild {grand.pid}", file=sys.stderr, flush=True)
    if args.sleep > 0:
        print(f"hello: sleeping {args.sleep:g} s", file=sys.stderr, flush=True)
        time.sleep(args.sleep)
    if args.fail:
        raise RuntimeError("hello was asked to fail (--raise)")
    if args.signal:
        os.kill(os.getpid(), signal.Signals[args.signal])
        time.sleep(5)  # the signal arrives almost at once; never print a result after it
    print(json.dumps(out), flush=True)
    return int(args.exit_code)


if __name__ == "__main__":
    sys.exit(main())
