"""``gopy feedback``: moderation of entries (hide an abusive or spam one with a reason, restore it)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.unit_of_work import cli_actor, run
from core.config import get_settings
from core.i18n import t
from core.staff.moderation import ModerationState, hide_opinion, restore_opinion

feedback_app = typer.Typer(
    help="Kiểm duyệt ý kiến / Moderation: hide an entry with a reason, restore it", no_args_is_help=True
)


def _echo(state: ModerationState) -> None:
    key = "hidden" if state.hidden else "restored"
    if not state.changed:
        key = f"already_{key}"
    for language in ("vi", "en"):
        typer.echo(t(f"staff.moderation.{key}", language, receipt_code=state.receipt_code))


@feedback_app.command("hide")
def hide(
    receipt_code: Annotated[str, typer.Argument(help="the entry's receipt code, e.g. GY-7K3F9Q")],
    reason: Annotated[str, typer.Option("--reason", help="why it is hidden (kept in the audit log)")],
) -> None:
    """Hide an entry: kept, audited, left out of every count and report."""
    now = get_settings().clock().now()
    _echo(
        run(
            lambda uow: hide_opinion(
                uow=uow, actor=cli_actor(), receipt_code=receipt_code, reason=reason, now=now
            )
        )
    )


@feedback_app.command("restore")
def restore(
    receipt_code: Annotated[str, typer.Argument(help="the entry's receipt code")],
    note: Annotated[str | None, typer.Option("--note", help="why it is shown again")] = None,
) -> None:
    """Show a hidden entry again."""
    now = get_settings().clock().now()
    _echo(
        run(
            lambda uow: restore_opinion(
                uow=uow, actor=cli_actor(), receipt_code=receipt_code, note=note, now=now
            )
        )
    )
