"""fastgd's command line: ``fastgd COMMAND ...`` (also ``python -m fastgd COMMAND ...``).

Commands: ``train``, ``predict``, ``evaluate``, ``inspect``, ``info`` (docs/cli.md). With no
command, the main job: linear regression on a real data set shipped with fastgd, or ``--data
FILE`` (:mod:`fastgd.cli._main_job`).

Exit status: 0 on success, 1 for an error in the data or a missing package (the message names
the file, line and column, or the package), 2 for an error in the arguments.
"""

from __future__ import annotations

import os
import sys

from ._parsers import PARSERS, UsageError

__all__ = ["main"]


def main(argv: list | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = "fastgd" if os.path.basename(sys.argv[0] or "") == "fastgd" else "python -m fastgd"
    try:
        if argv and argv[0] in PARSERS:
            from ._commands import COMMANDS

            args = PARSERS[argv[0]](prog).parse_args(argv[1:])
            return COMMANDS[argv[0]](args)
        from . import _main_job

        return _main_job.run(_main_job.parser(prog).parse_args(argv))
    except BrokenPipeError:  # the reader of the output stopped early (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError, ImportError) as exc:
        # Data files (DataFileError: FILE:LINE:COLUMN), missing files, missing packages.
        print(f"error: {exc}", file=sys.stderr)
        return 1
