"""Every table of Gopy: importing this module registers all model modules on ``Base.metadata``.

Alembic and the tests import it; a feature that adds a models module adds one import line here.
"""

import storage.models_reporting  # noqa: F401
from storage import (
    models_api,  # noqa: F401  (api_key, audit_log)
    models_staff,  # noqa: F401  (staff_account, staff_session, export_job)
    models_themes,  # noqa: F401  (theme, theme_member)
    models_zalo,  # noqa: F401  (zalo_token, zalo_inbox, zalo_user)
)
from storage.models import Base

__all__ = ["Base"]
