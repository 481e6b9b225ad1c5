"""Use cases of the citizen side: consent, profile, submit / edit / withdraw opinions, erase."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import datetime

from core import errors
from core.domain import (
    Channel,
    Feedback,
    FeedbackKind,
    FeedbackStatus,
    Profile,
    Receipt,
    Respondent,
    Source,
    Stance,
    new_receipt_code,
)
from core.ports import UnitOfWork
from core.text import fold_for_matching, normalize_input, text_length

RECEIPT_DRAWS = 20  # receipt codes drawn before giving up (31^6 codes: a second draw is already rare)
SOURCE_OF_CHANNEL = {Channel.TELEGRAM: Source.BOT, Channel.ZALO: Source.BOT, Channel.WEB: Source.WEB}


def hash_user_id(*, key: str, channel: Channel, channel_user_id: str) -> str:
    """Keyed hash of a channel user id: the raw id is never stored."""
    digest = hmac.new(key.encode(), f"{channel.value}:{channel_user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def clean_text(*, text: str, max_length: int, required: bool) -> str:
    """Normalise a person's text and check it against the limit; raise a domain error otherwise."""
    cleaned = normalize_input(text)
    if required and not cleaned:
        raise errors.TextRequired()
    length = text_length(cleaned)
    if length > max_length:
        raise errors.TextTooLong(length=length, limit=max_length)
    return cleaned


async def find_respondent(*, uow: UnitOfWork, channel: Channel, user_hash: str) -> Respondent | None:
    """Return the respondent behind a channel user, if they ever consented."""
    return await uow.respondents.get_by_channel(channel, user_hash)


async def record_consent(
    *,
    uow: UnitOfWork,
    channel: Channel,
    user_hash: str,
    language: str,
    version: str,
    now: datetime,
    organisation: str | None = None,
) -> Respondent:
    """Store the consent (and create the respondent: nothing is stored before this)."""
    respondent = await uow.respondents.get_by_channel(channel, user_hash)
    if organisation is not None and await uow.reference.get("organisations", organisation) is None:
        organisation = None
    if respondent is None:
        profile = Profile(organisation=organisation)
        respondent = await uow.respondents.add(
            Respondent(
                id=None,
                channel=channel,
                user_hash=user_hash,
                language=language,
                consent_version=version,
                consent_at=now,
                profile=profile,
                created_at=now,
            )
        )
    else:
        respondent.consent_version = version
        respondent.consent_at = now
        respondent.language = language
        if organisation is not None:
            respondent.profile.organisation = organisation
        await uow.respondents.update(respondent)
    await uow.commit()
    return respondent


async def save_profile(*, uow: UnitOfWork, respondent_id: int, profile: Profile) -> None:
    """Remember what the respondent said about themself (checked against the lists; the consent is checked by
    the update itself)."""
    for list_name, code in (
        ("categories", profile.category),
        ("organisations", profile.organisation),
        ("localities", profile.locality),
        ("age_bands", profile.age_band),
        ("genders", profile.gender),
    ):
        if code is not None and await uow.reference.get(list_name, code) is None:
            raise errors.NotFound(what=list_name, code=code)
    if not await uow.respondents.update_profile(respondent_id, profile):
        raise errors.ConsentRequired()
    await uow.commit()


async def set_language(*, uow: UnitOfWork, respondent_id: int, language: str) -> None:
    """Change the language the respondent is spoken to in."""
    respondent = await require_consent(uow, respondent_id)
    respondent.language = language
    await uow.respondents.update(respondent)
    await uow.commit()


async def submit_feedback(
    *,
    uow: UnitOfWork,
    respondent_id: int,
    document_id: int,
    section_id: int | None,
    stance: Stance,
    text: str,
    channel: Channel,
    now: datetime,
    max_length: int,
    client_ref: str | None = None,
) -> Receipt:
    """Store one opinion on a draft ; a repeated ``client_ref`` returns the first receipt.

    The consent, the document being open and the receipt code being free are checked by the insert itself
    (``FeedbackRepository.add_opinion``: one statement, the documents may come from a per-process cache);
    only when it inserts nothing are they read to tell which failed."""
    earlier = await previous_receipt(uow=uow, respondent_id=respondent_id, client_ref=client_ref)
    if earlier is not None:
        return earlier
    document = await uow.documents.get(document_id)
    if document is None:
        raise errors.DocumentNotFound(document_id=document_id)
    if not document.accepts_feedback(now):
        raise errors.DocumentClosed(title=document.title)
    if section_id is not None:
        section = await uow.sections.get(section_id)
        if section is None or section.document_id != document_id:
            raise errors.SectionNotFound(section_id=section_id)
    cleaned = clean_text(text=text, max_length=max_length, required=stance.text_required)
    feedback = Feedback(
        id=None,
        receipt_code=new_receipt_code(),
        kind=FeedbackKind.DRAFT_OPINION,
        respondent_id=respondent_id,
        text=cleaned,
        text_folded=fold_for_matching(cleaned),
        channel=channel,
        source=SOURCE_OF_CHANNEL.get(channel, Source.BOT),
        created_at=now,
        document_id=document_id,
        section_id=section_id,
        stance=stance,
        client_ref=client_ref,
    )
    for _ in range(RECEIPT_DRAWS):
        if await uow.feedback.add_opinion(feedback, now=now):
            await uow.commit()
            return Receipt(feedback.receipt_code, now)
        await require_consent(uow, respondent_id)
        current = await uow.documents.get_current(document_id)
        if current is None:
            raise errors.DocumentNotFound(document_id=document_id)
        if not current.accepts_feedback(now):
            raise errors.DocumentClosed(title=current.title)
        feedback = replace(feedback, receipt_code=new_receipt_code())  # the unique index refused the code
    raise RuntimeError("could not draw a free receipt code")  # 31^6 codes: practically unreachable


async def list_my_feedback(*, uow: UnitOfWork, respondent_id: int, limit: int = 20) -> list[Feedback]:
    """The respondent's own entries, newest first."""
    return list(await uow.feedback.list_by_respondent(respondent_id, limit=limit))


async def get_my_feedback(*, uow: UnitOfWork, respondent_id: int, receipt_code: str) -> Feedback:
    """One of the respondent's entries; someone else's is 'not found'."""
    feedback = await uow.feedback.get_by_receipt(receipt_code)
    if feedback is None or feedback.respondent_id != respondent_id:
        raise errors.FeedbackNotFound(receipt_code=receipt_code)
    return feedback


async def can_change(*, uow: UnitOfWork, feedback: Feedback, now: datetime, current: bool = False) -> bool:
    """An entry can be edited or withdrawn while it is active and its document is open (``current``: as the
    database has the document now, not the per-process cache)."""
    if feedback.status is not FeedbackStatus.ACTIVE:
        return False
    if feedback.document_id is None:
        return True
    documents = uow.documents
    document = await (documents.get_current if current else documents.get)(feedback.document_id)
    return document is not None and document.accepts_feedback(now)


async def edit_feedback(
    *,
    uow: UnitOfWork,
    respondent_id: int,
    receipt_code: str,
    stance: Stance,
    text: str,
    now: datetime,
    max_length: int,
) -> Receipt:
    """Replace the stance and text of an own entry while its document is open."""
    feedback = await get_my_feedback(uow=uow, respondent_id=respondent_id, receipt_code=receipt_code)
    await _ensure_changeable(uow, feedback, now)
    cleaned = clean_text(text=text, max_length=max_length, required=stance.text_required)
    updated = replace(
        feedback, stance=stance, text=cleaned, text_folded=fold_for_matching(cleaned), updated_at=now
    )
    await uow.feedback.update(updated)
    await uow.commit()
    return Receipt(feedback.receipt_code, feedback.created_at)


async def withdraw_feedback(*, uow: UnitOfWork, respondent_id: int, receipt_code: str, now: datetime) -> None:
    """Withdraw an own entry while its document is open (it stays, marked withdrawn, out of counts)."""
    feedback = await get_my_feedback(uow=uow, respondent_id=respondent_id, receipt_code=receipt_code)
    await _ensure_changeable(uow, feedback, now)
    await uow.feedback.update(
        replace(feedback, status=FeedbackStatus.WITHDRAWN, withdrawn_at=now, updated_at=now)
    )
    await uow.commit()


async def erase_respondent(*, uow: UnitOfWork, respondent_id: int) -> int:
    """Erase a respondent and every entry they made; return how many entries went."""
    count = await uow.feedback.count_by_respondent(respondent_id)
    await uow.respondents.delete(respondent_id)
    await uow.commit()
    return count


async def _ensure_changeable(uow: UnitOfWork, feedback: Feedback, now: datetime) -> None:
    if feedback.status is not FeedbackStatus.ACTIVE:
        raise errors.FeedbackNotFound(receipt_code=feedback.receipt_code)
    if not await can_change(uow=uow, feedback=feedback, now=now, current=True):
        raise errors.DocumentClosed(title="")


async def previous_receipt(*, uow: UnitOfWork, respondent_id: int, client_ref: str | None) -> Receipt | None:
    """The receipt of an entry already stored under ``client_ref`` (a replayed submit), if any."""
    if client_ref is None:
        return None
    existing = await uow.feedback.get_by_client_ref(respondent_id, client_ref)
    return None if existing is None else Receipt(existing.receipt_code, existing.created_at)


async def require_consent(uow: UnitOfWork, respondent_id: int) -> Respondent:
    """The respondent, who must have consented; otherwise ``ConsentRequired``."""
    respondent = await uow.respondents.get(respondent_id)
    if respondent is None or respondent.consent_at is None:
        raise errors.ConsentRequired()
    return respondent


def profile_snapshot(respondent: Respondent) -> Profile:
    """A copy of the respondent's profile, stored with each entry."""
    return Profile(**respondent.profile.as_dict())  # type: ignore[arg-type]


async def unique_receipt_code(uow: UnitOfWork) -> str:
    """A receipt code not used yet."""
    for _ in range(20):
        code = new_receipt_code()
        if not await uow.feedback.receipt_exists(code):
            return code
    raise RuntimeError("could not draw a free receipt code")  # 31^6 codes: practically unreachable
