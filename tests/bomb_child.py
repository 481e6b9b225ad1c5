"""Child process of tests/test_zip_bombs.py: hand one file to one upload path, report time and memory.

``python -m tests.bomb_child TARGET FILE`` prints one JSON line: ``outcome`` (the domain error's code,
or ``accepted``), ``seconds`` and ``growth_mb``, the peak resident memory (VmHWM) after the call minus the
resident memory (VmRSS) just before it: an upper bound of what the call added. The address space is
capped so that an unguarded path fails with MemoryError instead of swapping the machine.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

CAP = 1536 * 1024 * 1024  # address space allowed above the start


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


class _MemoryFiles:
    def __init__(self) -> None:
        self.stored: dict[str, int] = {}

    def put(self, content: bytes) -> str:
        self.stored[str(len(self.stored))] = len(content)
        return str(len(self.stored) - 1)

    def path(self, sha256: str) -> Path:
        raise NotImplementedError


def main(target: str, path: str) -> None:
    import docx  # noqa: F401  (imported lazily by the paths: not part of what a call adds)
    import openpyxl  # noqa: F401

    from api.v1.meetings import read_rows
    from core.archives import ArchiveLimits
    from core.config import Settings
    from core.errors import GopyError
    from core.reporting import store_report_file
    from formats.drafts import parse_docx

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    limits = ArchiveLimits.from_settings(settings)
    calls = {
        "report": lambda raw: store_report_file(files=_MemoryFiles(), content=raw, limits=limits),
        "document": lambda raw: parse_docx(raw, limits=limits),
        "meeting": lambda raw: read_rows(raw, limits=limits, max_rows=settings.meeting_import_max_rows),
    }
    content = Path(path).read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_status_kb("VmSize") * 1024 + CAP, hard))
    before = _status_kb("VmRSS")
    start = time.monotonic()
    try:
        calls[target](content)
        outcome = "accepted"
    except GopyError as exc:
        outcome = exc.code
    except MemoryError:
        outcome = "MemoryError"
    seconds = time.monotonic() - start
    growth = (_status_kb("VmHWM") - before) / 1024
    print(json.dumps({"outcome": outcome, "seconds": seconds, "growth_mb": growth}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
