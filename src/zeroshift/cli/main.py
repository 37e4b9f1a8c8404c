"""The ``zeroshift`` command: subcommands are registered here, errors become one line and exit code 2.

Example:
    >>> from typer.testing import CliRunner
    >>> CliRunner().invoke(app, ["ls", "suites"]).exit_code
    0

"""

from __future__ import annotations

import sys

import typer

from zeroshift.cli import (
    analyze_cmd,
    cache_cmd,
    compare_cmd,
    demo_cmd,
    ls_cmd,
    report_cmd,
    results_cmd,
    run_cmd,
    sweep_cmd,
    zoo_cmd,
)
from zeroshift.errors import UsageError
from zeroshift.plugins import load_plugins

app = typer.Typer(
    name="zeroshift",
    help="Robustness and safety evaluation of CLIP-style zero-shot models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("demo")(demo_cmd.demo)
app.command("run")(run_cmd.run)
app.command("sweep")(sweep_cmd.sweep)
app.command("ls")(ls_cmd.ls)
app.command("results")(results_cmd.results)
app.command("compare")(compare_cmd.compare)
app.command("report")(report_cmd.report)
app.add_typer(cache_cmd.app, name="cache")
app.add_typer(zoo_cmd.app, name="zoo")
app.add_typer(analyze_cmd.app, name="analyze")
from zeroshift.cli import overlap_cmd  # noqa: E402  (train/test overlap: zeroshift overlap index|check|...)

app.add_typer(overlap_cmd.app, name="overlap")


def fail(message: str, code: int = 2) -> None:
    """Print ``zeroshift: error: message`` on one line to stderr and exit."""
    first = " ".join(str(message).split())
    print(f"zeroshift: error: {first}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning usage errors into one line and exit code 2."""
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else list(argv)
    if not args:  # `zeroshift` alone: the help, exit code 0
        print(command.get_help(typer.Context(command, info_name="zeroshift")))
        return
    try:
        load_plugins()
        result = command.main(args=args, prog_name="zeroshift", standalone_mode=False)
    except typer.TyperException as err:  # click's usage errors, vendored by typer
        if type(err).__name__ == "NoArgsIsHelpError":
            raise SystemExit(0) from None
        ctx = getattr(err, "ctx", None)
        hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        fail(err.format_message() + hint, getattr(err, "exit_code", 2) or 2)  # type: ignore[attr-defined]
    except typer.Abort:
        fail("aborted", 130)
    except typer.Exit as err:
        raise SystemExit(err.exit_code) from None
    except UsageError as err:
        fail(str(err), err.exit_code)
    except KeyboardInterrupt:
        fail("interrupted; run the same command again to resume from the cache", 130)
    if isinstance(result, int) and result:
        raise SystemExit(result)
