"""The ``runner`` command line.

Exit codes follow pytest: 0 all claims hold, 1 a claim failed, 2 interrupted, 3 internal or cell
error, 4 bad spec or usage, 5 nothing selected.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_CLAIM_FAILED = 1
EXIT_INTERRUPTED = 2
EXIT_INTERNAL_ERROR = 3
EXIT_USAGE = 4
EXIT_NOTHING_SELECTED = 5


def _version_text() -> str:
    import platform

    import jax

    from core import __version__
    from core.threads import applied

    threads = ", ".join(f"{name}={value}" for name, value in applied.items()) or "none set"
    return (
        f"pgdlab {__version__} (jax {jax.__version__}, python {platform.python_version()}; "
        f"threads: {threads})"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runner",
        description="Run experiment specs for preconditioned gradient descent; judge claims.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse exits 2 on usage errors; pgdlab documents 4
        return EXIT_USAGE if stop.code not in (0, None) else EXIT_OK
    if args.version:
        print(_version_text())
        return EXIT_OK
    parser.print_help()
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
