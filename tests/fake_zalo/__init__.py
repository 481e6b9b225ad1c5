"""A fake Zalo Official Account API server and users, for end-to-end tests of the Zalo channel."""

from .server import FakeZaloServer, MessageRequest, SentMessage, TokenRequest
from .user import FakeZaloUser, msg_key

__all__ = ["FakeZaloServer", "FakeZaloUser", "MessageRequest", "SentMessage", "TokenRequest", "msg_key"]
