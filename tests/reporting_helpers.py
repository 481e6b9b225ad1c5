"""Shared set-up of the reporting tests: bundled data + units, contacts invited and bound."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import BUNDLED_DATA_DIR
from core.reporting import bind_contact, hash_invite, invite_contact
from storage.loaders import load_file
from storage.uow import SqlUnitOfWork
from tests.conftest import load_bundled

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def office_zip(kind: str) -> bytes:
    """A minimal DOCX / XLSX / ODT container (enough for detection by content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if kind == "odt":
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
            archive.writestr("content.xml", "<office:document-content/>")
        else:
            main = {
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            }[kind]
            archive.writestr("[Content_Types].xml", f'<Types><Override ContentType="{main}"/></Types>')
            archive.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
    return buffer.getvalue()


async def load_with_units(sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    await load_bundled(sessions, now)
    async with sessions() as session:
        await load_file(session, BUNDLED_DATA_DIR / "units.yaml", now=now)
        await session.commit()


async def bound_contact(
    sessions: async_sessionmaker[AsyncSession], *, unit: str, chat_id: int, now: datetime, name: str = "Lan"
) -> int:
    """Invite a contact of ``unit`` and bind it to ``chat_id``; returns the contact id."""
    async with SqlUnitOfWork(sessions) as uow:
        invite = await invite_contact(uow=uow, unit_code=unit, name=name, now=now, ttl=timedelta(days=3))
    async with SqlUnitOfWork(sessions) as uow:
        await bind_contact(
            uow=uow, invite_hash=hash_invite(invite.token), chat_id=chat_id, language="vi", now=now
        )
    return invite.contact.id
