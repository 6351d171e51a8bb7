"""Pure text helpers: HTML to plain text, canonical URLs, content hashes."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import nh3

# Query parameters that identify a campaign or a click, never the article.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "ocid", "cmpid", "icid",
        "ref_src", "ref_url", "at_medium", "at_campaign", "ito", "xtor", "smid",
        "cmp", "rss", "feedname", "s_cid", "ns_mchannel", "ns_source", "ns_campaign",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "__twitter", "sc_")
_BLOCK_TAGS = frozenset(
    {"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
     "blockquote", "pre", "section", "article", "header", "footer", "figure", "figcaption", "hr"}
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")
_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z/!]|&[#a-zA-Z0-9]+;")
# C0 controls (but tab and newline), DEL and C1 controls: binary junk in a feed, never text.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+")
# Raw input kept per char of output. News HTML runs at 2-5 chars of markup per
# char of text; cutting before any parse or regex pass bounds the work on a
# 10 MB entry to what a capped one costs.
RAW_CHARS_PER_TEXT_CHAR = 4


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(value: str, *, max_chars: int = 20_000) -> str:
    """Plain text of an HTML fragment: entities decoded, tags and scripts gone, spaces tidied.

    At most ``max_chars`` long; control characters (binary junk) are dropped.
    """
    if not value:
        return ""
    value = value[: max_chars * RAW_CHARS_PER_TEXT_CHAR]
    if _LOOKS_LIKE_HTML.search(value):
        parser = _TextExtractor()
        parser.feed(value)
        parser.close()
        value = "".join(parser.parts)
    value = _CONTROLS.sub("", value)
    value = _SPACES.sub(" ", value)
    value = _BLANK_LINES.sub("\n", value).strip()
    return value[:max_chars]


def clean_line(value: str) -> str:
    """One-line plain text (titles): like :func:`html_to_text` with newlines folded."""
    return " ".join(html_to_text(value, max_chars=2000).split())


def sanitize_html(value: str, *, base_url: str = "", max_chars: int = 50_000) -> str:
    """HTML safe to embed in a template: no scripts, handlers or foreign schemes.

    Relative links and images are resolved against ``base_url`` when it is an
    absolute http(s) URL (feedparser's own resolver is off: it walks the whole
    uncapped content in pure Python).
    """
    if not value:
        return ""
    value = value[:max_chars]
    if base_url.startswith(("http://", "https://")):
        try:
            return nh3.clean(value, url_relative=("rewrite_with_base", base_url))
        except ValueError:  # a base URL nh3 refuses (no host, bad IPv6): links stay as they are
            pass
    return nh3.clean(value)


def canonical_url(url: str) -> str:
    """A URL with tracking parameters, fragment and case/port noise removed.

    Non-http(s) values are returned stripped but otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(_TRACKING_PREFIXES)
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query, doseq=True), ""))


def short_hash(*parts: str, length: int = 20) -> str:
    """Hex digest of the parts; a separator keeps ("ab", "c") and ("a", "bc") apart."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:length]


def content_hash(title: str, summary: str) -> str:
    """Changes when the visible text of an entry is edited, not when whitespace moves."""
    return short_hash(" ".join(title.split()), " ".join(summary.split()), length=16)
