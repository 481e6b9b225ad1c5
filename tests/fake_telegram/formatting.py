"""Text formatting helpers for the fake Telegram Bot API server.

The real Bot API parses ``parse_mode`` markup (HTML, MarkdownV2, legacy Markdown) into plain text
plus a list of entities, and rejects malformed markup with
``400 Bad Request: can't parse entities: ...``.  Bots that interpolate user input into HTML without
escaping it are a classic production bug, so the fake reproduces this strictly enough to catch it.

All entity offsets and lengths are measured in UTF-16 code units, exactly like Telegram.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any


class EntityParseError(ValueError):
    """Raised when the markup cannot be parsed; the message mirrors Telegram's wording."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (how Telegram measures offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _Builder:
    """Accumulates plain text and entities while a parser walks the source."""

    parts: list[str] = field(default_factory=list)
    length: int = 0  # UTF-16 length of the text produced so far
    entities: list[dict[str, Any]] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def entity(self, type_: str, start: int, **extra: Any) -> None:
        length = self.length - start
        if length > 0:
            self.entities.append({"type": type_, "offset": start, "length": length, **extra})

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), entities


# --------------------------------------------------------------------------------------------- HTML

_HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_NAME = re.compile(r"[A-Za-z0-9-]*")
_ATTR = re.compile(r"""\s*([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entities(text: str) -> str:
    """Decode the HTML entities Telegram understands; unknown ones are kept literally."""

    def repl(match: re.Match[str]) -> str:
        body = match.group(1)
        if body.startswith("#"):
            try:
                code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
                return chr(code)
            except (ValueError, OverflowError):
                return match.group(0)
        return _NAMED_ENTITIES.get(body, match.group(0))

    return re.sub(r"&(#[xX]?[0-9A-Fa-f]+|[A-Za-z]+);", repl, text)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)``.

    Raises :class:`EntityParseError` for unsupported tags (``<br>``, ``<p>``, ``<div>``...),
    a bare ``<`` that does not start a tag, unclosed or mismatched tags.
    """
    out = _Builder()
    stack: list[tuple[str, int, dict[str, str]]] = []  # (tag, utf16 start, attributes)
    i = 0
    n = len(source)
    while i < n:
        lt = source.find("<", i)
        chunk_end = n if lt == -1 else lt
        if chunk_end > i:
            out.add(_decode_html_entities(source[i:chunk_end]))
        if lt == -1:
            break
        offset = _byte_offset(source, lt)
        gt = source.find(">", lt)
        if gt == -1:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if source.startswith("</", lt):
            name = source[lt + 2 : gt].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
            tag, start, attrs = stack.pop()
            if name != tag:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{tag}>", found "</{name}>"'
                )
            if tag == "code" and stack and stack[-1][0] == "pre" and stack[-1][1] == start:
                # <pre><code class="language-python">...</code></pre> is one pre entity with a language
                stack[-1][2]["language"] = attrs.get("class", "").removeprefix("language-")
            else:
                _close_html_entity(out, tag, start, attrs)
            i = gt + 1
            continue
        match = _TAG_NAME.match(source, lt + 1)
        name = match.group(0).lower() if match else ""
        rest = source[match.end() if match else lt + 1 : gt]
        if name not in _HTML_TAGS or (rest and not rest[0].isspace() and rest != "/"):
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs = {
            m.group(1).lower(): html.unescape((m.group(2) or "").strip("\"'")) for m in _ATTR.finditer(rest)
        }
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        stack.append((name, out.length, attrs))
        i = gt + 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _close_html_entity(out: _Builder, tag: str, start: int, attrs: dict[str, str]) -> None:
    kind = _HTML_TAGS[tag]
    if kind == "text_link":
        url = attrs.get("href", "")
        if url.startswith("tg://user?id="):
            out.entity("text_mention", start, user={"id": int(url.split("=", 1)[1] or 0)})
        elif url:
            out.entity("text_link", start, url=url)
    elif kind == "pre":
        out.entity("pre", start, **({"language": attrs["language"]} if attrs.get("language") else {}))
    elif kind == "blockquote":
        out.entity("expandable_blockquote" if "expandable" in attrs else "blockquote", start)
    elif kind == "custom_emoji":
        out.entity("custom_emoji", start, custom_emoji_id=attrs.get("emoji-id", ""))
    else:
        out.entity(kind, start)


# --------------------------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": ("bold", "Bold"),
    "_": ("italic", "Italic"),
    "__": ("underline", "Underline"),
    "~": ("strikethrough", "Strikethrough"),
    "||": ("spoiler", "Spoiler"),
    "[": ("text_link", "TextUrl"),
}


def parse_markdown_v2(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2 into ``(plain_text, entities)``.

    Every reserved character (``_*[]()~`>#+-=|{}.!``) outside an entity marker must be escaped with
    ``\\``; otherwise Telegram answers "Character 'X' is reserved and must be escaped with the
    preceding '\\'".  That is the check that matters most for bots, and it is reproduced exactly.
    """
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (marker, utf16 start, byte offset)
    i = 0
    n = len(source)
    at_line_start = True
    while i < n:
        c = source[i]
        if c == "\\" and i + 1 < n and 0 < ord(source[i + 1]) <= 126:
            out.add(source[i + 1])
            i += 2
            at_line_start = False
            continue
        if c == "`":
            i = _mdv2_code(source, i, out)
            at_line_start = False
            continue
        if c not in _MDV2_RESERVED:
            out.add(c)
            at_line_start = c == "\n"
            i += 1
            continue
        offset = _byte_offset(source, i)
        marker = c
        if c == "_" and source.startswith("__", i):
            marker = "__"
        elif c == "|":
            if not source.startswith("||", i):
                raise EntityParseError(
                    f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
                )
            marker = "||"
        if c == ">" and at_line_start:
            # Block quotation line: the marker itself is not part of the text.
            i += 1
            continue
        if c == "!" and source.startswith("![", i):
            stack.append(("![", out.length, offset))
            i += 2
            continue
        if c == "]" and stack and stack[-1][0] in ("[", "!["):
            opener, start, _ = stack.pop()
            if not source.startswith("(", i + 1):
                if opener == "![":
                    raise EntityParseError(
                        f"Custom emoji entity must contain a tg://emoji URL at byte offset {offset}"
                    )
                i += 1  # "[text]" without a URL is just text in MarkdownV2
                continue
            close = i + 2
            url_chars: list[str] = []
            while close < n and source[close] != ")":
                if source[close] == "\\" and close + 1 < n:
                    close += 1  # "\)" and "\\" are escapes inside the URL part
                url_chars.append(source[close])
                close += 1
            if close >= n:
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(source, i + 2)}"
                )
            url = "".join(url_chars)
            if opener == "![":
                out.entity("custom_emoji", start, custom_emoji_id=url.rsplit("=", 1)[-1])
            else:
                out.entity("text_link", start, url=url)
            i = close + 1
            continue
        if stack and stack[-1][0] == marker:
            _, start, _ = stack.pop()
            out.entity(_MDV2_NAMES[marker][0], start)
            i += len(marker)
            continue
        if marker in _MDV2_NAMES:
            stack.append((marker, out.length, offset))
            i += len(marker)
            continue
        raise EntityParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
    if stack:
        marker, _, offset = stack[-1]
        name = "CustomEmoji" if marker == "![" else _MDV2_NAMES[marker][1]
        raise EntityParseError(f"Can't find end of {name} entity at byte offset {offset}")
    return out.result()


def _mdv2_code(source: str, i: int, out: _Builder) -> int:
    """Parse an inline code or pre block starting at ``source[i] == '`'``; return the new index."""
    offset = _byte_offset(source, i)
    is_pre = source.startswith("```", i)
    j = i + (3 if is_pre else 1)
    language = ""
    if is_pre:
        newline = source.find("\n", j)
        first_line = source[j:newline] if newline != -1 else ""
        if newline != -1 and first_line and " " not in first_line and "`" not in first_line:
            language = first_line
            j = newline + 1
    start = out.length
    closing = "```" if is_pre else "`"
    while j < len(source):
        if source[j] == "\\" and j + 1 < len(source):
            out.add(source[j + 1])
            j += 2
            continue
        if source.startswith(closing, j):
            if is_pre:
                out.entity("pre", start, **({"language": language} if language else {}))
            else:
                out.entity("code", start)
            return j + len(closing)
        out.add(source[j])
        j += 1
    raise EntityParseError(f"Can't find end of {'Pre' if is_pre else 'Code'} entity at byte offset {offset}")


# ----------------------------------------------------------------------------------- legacy Markdown

_MD_LEGACY = {"*": "bold", "_": "italic"}


def parse_markdown_legacy(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse the legacy ``Markdown`` parse mode (``*bold*``, ``_italic_``, `` `code` ``, links)."""
    out = _Builder()
    i = 0
    n = len(source)
    while i < n:
        c = source[i]
        if c == "\\" and i + 1 < n and source[i + 1] in "_*`[":
            out.add(source[i + 1])
            i += 2
            continue
        if c in _MD_LEGACY:
            end = source.find(c, i + 1)
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}"
                )
            start = out.length
            out.add(source[i + 1 : end])
            out.entity(_MD_LEGACY[c], start)
            i = end + 1
            continue
        if c == "`":
            closing = "```" if source.startswith("```", i) else "`"
            end = source.find(closing, i + len(closing))
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}"
                )
            start = out.length
            out.add(source[i + len(closing) : end])
            out.entity("pre" if closing == "```" else "code", start)
            i = end + len(closing)
            continue
        if c == "[":
            end = source.find("]", i + 1)
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}"
                )
            start = out.length
            out.add(source[i + 1 : end])
            if source.startswith("(", end + 1):
                close = source.find(")", end + 2)
                if close == -1:
                    raise EntityParseError(
                        f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}"
                    )
                out.entity("text_link", start, url=source[end + 2 : close])
                i = close + 1
            else:
                i = end + 1
            continue
        out.add(c)
        i += 1
    return out.result()


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Turn ``text`` + ``parse_mode`` into ``(plain_text, entities)`` like the Bot API does.

    Raises :class:`EntityParseError` for malformed markup and :class:`ValueError` for an unknown
    parse mode.
    """
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown_legacy(text)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")
