"""The lock files pin, with hashes, every dependency pyproject.toml declares, within its range, and every
install path (make install, so .ci/run; the Dockerfile) installs from them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _pins(name: str) -> dict[str, Version]:
    """``{canonical name: version}`` of a lock file; fails on a requirement without a hash."""
    pins: dict[str, Version] = {}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / name).read_text(encoding="utf-8"))
    for block in blocks:
        match = PIN.match(block)
        if match is None:
            continue
        assert "--hash=sha256:" in block, f"{name}: {match.group(1)} is pinned without a hash"
        pins[canonicalize_name(match.group(1))] = Version(match.group(2))
    assert pins, f"{name} pins nothing"
    return pins


def _declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    return runtime, dev


@pytest.mark.parametrize(
    ("lock", "groups"), [("requirements.lock", ("runtime",)), ("requirements-dev.lock", ("runtime", "dev"))]
)
def test_lock_pins_every_declared_dependency_within_its_range(lock: str, groups: tuple[str, ...]) -> None:
    runtime, dev = _declared()
    wanted = runtime + (dev if "dev" in groups else [])
    pins = _pins(lock)
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock} lacks {requirement.name}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {requirement.name}=={pins[name]}, outside {requirement.specifier}: run `make lock`"
        )
    if any(r.name.lower() == "sqlalchemy" and "asyncio" in r.extras for r in runtime):
        assert "greenlet" in pins  # the asyncio extra's dependency


def test_runtime_lock_is_the_tested_subset_of_the_dev_lock() -> None:
    """The image runs the very versions the test suite ran with."""
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    differing = {
        name: (version, dev.get(name)) for name, version in runtime.items() if dev.get(name) != version
    }
    assert not differing, f"requirements.lock differs from requirements-dev.lock: {differing}"


def test_breaking_majors_are_bounded() -> None:
    """Libraries whose major releases broke their API before keep an upper bound in pyproject.toml."""
    runtime, dev = _declared()
    declared = {canonicalize_name(r.name): r.specifier for r in runtime + dev}
    for name in (
        "aiogram",
        "sqlalchemy",
        "pydantic",
        "pydantic-settings",
        "fastapi",
        "apscheduler",
        "limits",
    ):
        assert any(spec.operator in ("<", "<=", "~=", "==") for spec in declared[name]), (
            f"{name} has no upper bound"
        )


def test_every_install_path_uses_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    stamp = next(line for line in makefile.splitlines() if line.startswith("$(STAMP):"))
    assert "$(DEV_LOCK)" in stamp and "$(LOCK)" in stamp, (
        "the install stamp must be rebuilt when a lock changes"
    )
    assert "--require-hashes -r $(DEV_LOCK)" in makefile and "--no-deps" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")  # which depends on the stamp
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.lock" in dockerfile
    assert re.search(r"pip install [^\n]*--no-deps \.", dockerfile)
