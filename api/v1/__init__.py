"""The versioned staff API: every /v1 router, and :func:`setup` that mounts them with the error handlers."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api.errors import install_error_handlers
from api.v1 import audit, consolidation, contacts, documents, exports, feedback, meetings, reporting, themes

router = APIRouter(prefix="/v1")
for module in (documents, consolidation, feedback, exports, meetings, audit, reporting, themes, contacts):
    router.include_router(module.router)


def setup(app: FastAPI) -> None:
    """Mount /v1 and install the JSON error handlers (called once by api.app.create_app)."""
    install_error_handlers(app)
    app.include_router(router)
