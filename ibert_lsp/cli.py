"""`ibert` front door: each command group registers itself from its own module.

Command modules keep heavy imports (ibis, torch) inside their handlers so `ibert --help` is fast.
The offline packages (`datagen`, `training`) register their own commands; only this front door
reaches them, never the server or the tasks.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ibert_lsp import __version__
from ibert_lsp.errors import IbertError
from ibert_lsp.validate.errors import GateError

COMMAND_MODULES = (
    "ibert_lsp.commands.translate",  # to-sql
    "ibert_lsp.commands.from_sql",  # from-sql
    "ibert_lsp.commands.tasks",  # complete, fix, qa, doc
    "ibert_lsp.commands.model",  # model build|info, eval
    "ibert_lsp.commands.demo",  # demo
    "datagen.cli",  # datagen <step>
    "training.cli",  # train
)
# Commands that read untrusted code or SQL: their gate work runs in an isolated worker process.
ISOLATED_COMMANDS = ("to-sql", "from-sql", "complete", "fix", "qa", "doc")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ibert",
        description="Checked Ibis code tools: translate, complete, fix, explain, document.",
    )
    parser.add_argument("--version", action="version", version=f"ibert {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command group is not part of this install
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    isolated = args.command in ISOLATED_COMMANDS
    if isolated:
        from ibert_lsp.validate import isolation

        isolation.enable(workers=1)
        isolation.prewarm()  # the worker imports Ibis while this process reads its input
    try:
        return int(args.func(args) or 0)
    except IbertError as exc:
        print(f"ibert: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except GateError as exc:  # the input was refused or stopped by the gate (e.g. a timeout)
        from ibert_lsp.tasks.ibis_to_sql import describe_gate_error

        print(f"ibert: error: {describe_gate_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ibert: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not a user error: say so in one line
        if os.environ.get("IBERT_DEBUG"):
            raise
        print(
            f"ibert: internal error: {type(exc).__name__}: {exc} (IBERT_DEBUG=1 shows a traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        if isolated:
            isolation.disable()  # stop the worker now, not when it notices its closed pipe


if __name__ == "__main__":
    sys.exit(main())
