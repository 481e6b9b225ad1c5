"""docker-compose.yml and the Dockerfile cannot be started here (no Docker engine), so check them by parsing."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.main import get_command

from cli.main import app

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _gopy_commands() -> set[tuple[str, ...]]:
    root = get_command(app)
    found: set[tuple[str, ...]] = set()

    def walk(group, prefix: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
        for name, cmd in getattr(group, "commands", {}).items():
            found.add((*prefix, name))
            walk(cmd, (*prefix, name))

    walk(root, ())
    return found


def test_services_images_and_health_checks() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "api", "scheduler"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in ("postgres", "redis", "api", "scheduler"):
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check["interval"]
    assert services["migrate"]["build"] == "." and (ROOT / "Dockerfile").is_file()
    for name in ("api", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_gopy_command_in_compose_exists() -> None:
    commands = _gopy_commands()
    for name, service in _compose()["services"].items():
        command = service.get("command")
        if command and command[0] == "gopy":
            words = tuple(w for w in command[1:] if not w.startswith("-"))
            assert any(words[: len(c)] == c for c in commands), f"{name}: {command} is not a gopy command"


def test_environment_points_at_the_compose_services() -> None:
    env = _compose()["x-gopy-env"]
    assert "@postgres:5432/" in env["GOPY_DATABASE_URL"] and env["GOPY_DATABASE_URL"].startswith(
        "postgresql+asyncpg"
    )
    assert env["REDIS_URL"].startswith("redis://redis:6379")


def test_the_api_gets_a_first_admin_from_a_docker_secret() -> None:
    """In production `gopy api` refuses to start with no staff account and no configured first admin:
    compose gives the API its email (required) and the password as a Docker secret file."""
    compose = _compose()
    api = compose["services"]["api"]
    env = api["environment"]
    assert env["GOPY_DATABASE_URL"] == compose["x-gopy-env"]["GOPY_DATABASE_URL"]  # the shared env merged
    assert env["GOPY_HASH_KEY"] == compose["x-gopy-env"]["GOPY_HASH_KEY"]
    assert "GOPY_ENV" not in env  # production (the default)
    assert env["GOPY_STAFF_ADMIN_EMAIL"].startswith("${GOPY_STAFF_ADMIN_EMAIL:?")  # required, not defaulted
    assert "GOPY_STAFF_ADMIN_PASSWORD" not in env  # never the password itself in the environment
    path = env["GOPY_STAFF_ADMIN_PASSWORD_FILE"]
    secret = path.removeprefix("/run/secrets/")
    assert path.startswith("/run/secrets/") and secret in api["secrets"]
    declared = compose["secrets"][secret]
    assert declared["file"].startswith("./secrets/")
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/secrets/" in ignored  # the password file is never committed
    assert "GOPY_STAFF_ADMIN_EMAIL" in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def test_dockerfile_copies_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("core", "storage", "formats", "bot", "api", "scheduler", "cli", "data"):
        assert f"COPY {package} {package}" in dockerfile


def test_wheel_carries_migrations_catalogs_and_web_assets(tmp_path: Path) -> None:
    """The Docker image installs a wheel: everything read at run time must be inside it."""
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("gopy-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = [
        path.relative_to(ROOT).as_posix()
        for pattern in (
            "storage/migrations/env.py",
            "storage/migrations/script.py.mako",
            "storage/migrations/versions/*.py",
            "core/locales/*/LC_MESSAGES/*.po",
            "api/static/*",
            "api/templates/*",
            "api/static/staff/*",
            "api/templates/staff/*",
        )
        for path in ROOT.glob(pattern)
        if path.is_file()
    ]
    assert needed and not [n for n in needed if n not in names]
