"""``gopy contacts invite``, ``gopy reminders preview``, ``gopy periods status``, ``gopy scheduler``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from core.config import Settings, get_settings
from core.i18n import t

contacts_app = typer.Typer(help="Unit contacts / Đầu mối đơn vị", no_args_is_help=True)
reminders_app = typer.Typer(help="Reminders / Nhắc hạn", no_args_is_help=True)
periods_app = typer.Typer(help="Reporting periods / Kỳ báo cáo", no_args_is_help=True)
T = TypeVar("T")


def register(app: typer.Typer) -> None:
    """Add the reporting commands to the ``gopy`` command."""
    app.add_typer(contacts_app, name="contacts")
    app.add_typer(reminders_app, name="reminders")
    app.add_typer(periods_app, name="periods")
    app.command("scheduler")(scheduler)


def _with_uow(fn: Callable[[Any], Awaitable[T]]) -> T:
    from cli.unit_of_work import run

    return run(fn)


def parse_local(value: str, settings: Settings) -> datetime:
    """``YYYY-MM-DD HH:MM`` (or ISO) in local time, as aware UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise typer.BadParameter("expected 'YYYY-MM-DD HH:MM' (local time)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)


async def _bot_username(settings: Settings) -> str | None:
    """The bot's username for deep links: the setting, the cached getMe answer, or getMe now."""
    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    if not settings.bot_token:
        return None
    from aiogram.exceptions import TelegramAPIError

    from bot.runtime import build_bot, remember_username, remembered_username

    bot = build_bot(settings)
    try:
        cached = remembered_username(settings.bot_identity_file, bot.id)
        if cached:
            return cached
        me = await bot.get_me()
        if me.username:
            remember_username(settings.bot_identity_file, bot.id, me.username)
        return me.username
    except (TelegramAPIError, OSError):
        return None
    finally:
        await bot.session.close()


@contacts_app.command("invite")
def contacts_invite(
    unit: Annotated[str, typer.Option(help="unit code (see data/units.yaml)")],
    name: Annotated[str, typer.Option(help="the contact's name")] = "",
) -> None:
    """Invite a contact of a unit: prints a single-use deep link that expires."""
    from core.reporting import invite_contact

    settings = get_settings()
    now = get_settings().clock().now()
    ttl = timedelta(hours=settings.invite_ttl_hours)
    username = asyncio.run(_bot_username(settings))
    if not username and not settings.zalo_configured:  # refuse before creating an invite nobody could open
        typer.echo(
            f"Lỗi: {t('error.bot_username_unknown', 'vi')}\nError: {t('error.bot_username_unknown', 'en')}",
            err=True,
        )
        raise typer.Exit(2)
    invite = _with_uow(lambda uow: invite_contact(uow=uow, unit_code=unit, name=name, now=now, ttl=ttl))
    expires = (now + ttl).astimezone(settings.tz).strftime("%H:%M %d/%m/%Y")
    typer.echo(f"{invite.unit.name_vi} — contact #{invite.contact.id} {name}".rstrip())
    if username:
        typer.echo(invite.link(username))
    if settings.zalo_configured:  # on Zalo the contact types the code to the OA (docs/zalo.md)
        typer.echo(
            f"Zalo: {t('zalo.invite_code', 'vi', code=invite.payload)} / {t('zalo.invite_code', 'en', code=invite.payload)}"
        )
        if settings.zalo_oa_follow_url:
            typer.echo(
                f"{t('zalo.invite_follow', 'vi')} / {t('zalo.invite_follow', 'en')}: {settings.zalo_oa_follow_url}"
            )
    typer.echo(f"Hết hạn / expires: {expires} (dùng một lần / single use)")


@reminders_app.command("preview")
def reminders_preview(
    at: Annotated[str | None, typer.Option(help="local time 'YYYY-MM-DD HH:MM' (default: now)")] = None,
    days: Annotated[int, typer.Option(help="without --at: also list the next N days")] = 7,
) -> None:
    """Print what would be sent at a moment, and to whom (nothing is queued or sent)."""
    settings = get_settings()
    moments = [parse_local(at, settings)] if at else _upcoming_moments(settings, days)
    for line in _with_uow(lambda uow: preview_lines(uow=uow, settings=settings, moments=moments)):
        typer.echo(line)


def _upcoming_moments(settings: Settings, days: int) -> list[datetime]:
    from core.reporting import reminder_policy

    policy = reminder_policy(settings)
    now = get_settings().clock().now()
    local = now.astimezone(settings.tz)
    moments = [now]
    for n in range(0, days + 1):
        for clock_time in (policy.at, policy.digest_at):
            if clock_time is None:
                continue
            moment = datetime.combine(local.date() + timedelta(days=n), clock_time, tzinfo=settings.tz)
            if moment > now:
                moments.append(moment)
    return sorted(moments)


async def preview_lines(*, uow: Any, settings: Settings, moments: list[datetime]) -> list[str]:
    """The preview as printable lines (also used by the tests)."""
    from core.reporting import reminder_policy
    from core.reporting.preview import preview_reminders

    policy = reminder_policy(settings)
    lines: list[str] = []
    preview = await preview_reminders(
        uow=uow, policy=policy, staff_chat_ids=settings.staff_chat_ids, moments=moments
    )
    for block in preview:
        lines.append(
            f"== {block.moment.astimezone(settings.tz).strftime('%Y-%m-%d %H:%M')} ({settings.timezone})"
        )
        if not block.items:  # units without a contact are listed below
            lines.append(
                "   " + t("reporting.preview.none", "vi") + " / " + t("reporting.preview.none", "en")
            )
        for item in block.items:
            p = item.planned
            notes = []
            if item.deferred_until is not None:
                local = item.deferred_until.astimezone(settings.tz).strftime("%H:%M %d/%m")
                notes.append(t("reporting.preview.quiet", "en", at=local))
            if p.already_queued:
                notes.append(t("reporting.preview.queued", "en"))
            note = f"  [{'; '.join(notes)}]" if notes else ""
            lines.append(
                f"   {p.message.kind:<10} {p.step:<8} {p.period_code:<22} {p.unit_code or '-':<14} "
                f"→ {p.recipient} (chat {p.message.chat_id}){note}  {item.first_line}"
            )
        for gap in block.gaps:
            lines.append(
                f"   {'reminder':<10} {gap.step:<8} {gap.period_code:<22} {gap.unit_code:<14} "
                "→ (no contact: not sent)"
            )
    return lines


async def compliance_lines(*, uow: Any, period: str | None, settings: Settings, now: datetime) -> list[str]:
    """The compliance table of one period (or of every period) as printable lines."""
    from core.reporting import period_compliance, report_period_codes

    codes = [period] if period else await report_period_codes(uow=uow)
    lines: list[str] = []
    for code in codes:
        rows = await period_compliance(uow=uow, period_code=code, now=now)
        lines.append(f"== {code}")
        lines.append(f"   {'unit':<16} {'kind':<10} {'status':<14} {'ver':>3}  {'submitted':<16} contacts")
        for r in rows:
            submitted = (
                r.submitted_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if r.submitted_at else "-"
            )
            status = t(f"reporting.compliance.{r.status.value}", "vi")
            lines.append(
                f"   {r.unit_code:<16} {r.kind:<10} {status:<14} {r.version or '-':>3}  {submitted:<16} "
                f"{r.reachable_contacts}/{r.contacts:<7} {_report_ref(r.report_id)}"
            )
        counts = {s: sum(1 for r in rows if r.status == s) for s in {r.status for r in rows}}
        lines.append("   " + ", ".join(f"{s.value}: {n}" for s, n in sorted(counts.items())))
    return lines


def _report_ref(report_id: int | None) -> str:
    """How a report is named to staff: its receipt code (what the contact was given) and its number."""
    from core.reporting.model import report_receipt_code

    return f"{report_receipt_code(report_id)} (#{report_id})" if report_id else "-"


def parse_report_ref(value: str) -> int:
    """A report given by its number (``12``, ``#12``) or by the contact's receipt code (``BC-7K3F9Q``)."""
    from core.reporting.model import report_id_of_receipt

    text = value.strip().removeprefix("#")
    if text.isdigit():
        return int(text)
    report_id = report_id_of_receipt(text)
    if report_id is None:
        raise typer.BadParameter(
            "cần số báo cáo hoặc mã biên nhận dạng BC-XXXXXX / a report number or a BC-XXXXXX receipt code",
            param_hint="REPORT",
        )
    return report_id


@periods_app.command("status")
def periods_status(
    period: Annotated[str | None, typer.Argument(help="period code (default: every period)")] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="also write the table to this Excel file (Vietnamese)")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="language of the Excel file: vi or en")] = "vi",
) -> None:
    """Print the compliance table: who is on time, late, waiting for confirmation, or missing."""
    settings = get_settings()
    now = settings.clock().now()
    for line in _with_uow(lambda uow: compliance_lines(uow=uow, period=period, settings=settings, now=now)):
        typer.echo(line)
    if xlsx is not None:
        from core.reporting.compliance import compliance_table
        from formats.compliance_xlsx import write_compliance_xlsx

        if lang not in ("vi", "en"):
            raise typer.BadParameter("vi or en", param_hint="--lang")
        table = _with_uow(
            lambda uow: compliance_table(uow=uow, period_code=period, language=lang, tz=settings.tz, now=now)
        )
        write_compliance_xlsx(table, xlsx)
        for language in ("vi", "en"):
            typer.echo(t("reporting.compliance.saved", language, rows=len(table.rows), path=xlsx))


@periods_app.command("confirm")
def periods_confirm(
    report: Annotated[
        str, typer.Argument(help="report number or receipt code BC-XXXXXX (both shown by `periods status`)")
    ],
) -> None:
    """Confirm a unit's "sent through another channel" submission."""
    from cli.unit_of_work import cli_actor
    from core.staff.reporting import confirm_report

    report_id = parse_report_ref(report)
    now = get_settings().clock().now()
    confirmed = _with_uow(
        lambda uow: confirm_report(uow=uow, actor=cli_actor(), report_id=report_id, now=now)
    )
    typer.echo(f"report {_report_ref(confirmed.id)}: confirmed ({'late' if confirmed.late else 'on time'})")


def scheduler() -> None:
    """The reminder scheduler alone (one of many may run: only the lease holder sends)."""
    from cli.startup import run_until_signalled, service_settings
    from scheduler.service import can_send, run_forever

    settings = service_settings()
    if not can_send(settings):  # neither a Telegram bot nor the Zalo OA: how to connect one, exit 2
        typer.echo(f"{t('bot.connect_hint', 'vi')}\n{t('bot.connect_hint', 'en')}", err=True)
        raise typer.Exit(2)
    run_until_signalled(lambda: run_forever(settings))
