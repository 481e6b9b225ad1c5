"""The privacy notice: one versioned text, shown in full in the chat and on the web page ``/privacy``.

Decree 13/2023/ND-CP asks the controller to name itself, the purposes, the kinds of data, how long
they are kept, the person's rights and how to reach the controller; the text lives in the catalogs
(``privacy.full``), filled here with the settings of the issuing body.
"""

from __future__ import annotations

from core.conversation.model import ConversationSettings
from core.i18n import t


def contact_line(settings: ConversationSettings, language: str) -> str:
    """«Liên hệ: …» when a contact is configured, else empty."""
    return t("org.contact", language, contact=settings.org_contact) if settings.org_contact else ""


def privacy_notice(settings: ConversationSettings, language: str) -> str:
    """The full privacy notice of the current version, in ``language``."""
    return t(
        "privacy.full",
        language,
        org=settings.org(language),
        version=settings.privacy_version,
        contact=settings.org_contact or t("privacy.no_contact", language, org=settings.org(language)),
    )
