"""``gopy`` run in the test's own process, given what a child process would get: its environment, working
folder and arguments, and answering like ``subprocess.run`` (exit status, stdout, stderr; an uncaught
exception is a traceback on stderr and status 1, as Python prints it).

For the tests of a command's answers, where a fresh process is not what is tested: it saves the second
that starting Python and importing the CLI takes. Each command family keeps tests that start the real
``gopy`` process (tests/test_cli.py, tests/test_backup.py). Only for commands that return: the services
(``run``, ``api``, ``bot``, ``scheduler``) set up logging and signal handlers for the whole process.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import traceback
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from typer.testing import CliRunner

SERVICES = {"run", "api", "bot", "scheduler"}


def gopy_in_process(*args: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    from cli.main import app
    from core.config import get_settings

    assert not SERVICES & set(args[:1]), "a service starts in a real process (see the module docstring)"
    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = ["gopy", *args]
    get_settings.cache_clear()
    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no event loop in this thread: the command may run its own
            result = CliRunner().invoke(app, list(args))
        else:  # called from an async test: the command's asyncio.run needs a thread of its own
            with ThreadPoolExecutor(1) as thread:
                result = thread.submit(CliRunner().invoke, app, list(args)).result()
    finally:
        get_settings.cache_clear()
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    stderr, status = result.stderr, result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
        status = 1
    return subprocess.CompletedProcess(["gopy", *args], status, result.stdout, stderr)
