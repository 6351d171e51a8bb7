"""OPML import: the subscription list every feed reader exports."""

from __future__ import annotations

from xml.etree.ElementTree import Element  # only the type; parsing uses defusedxml

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from pydantic import ValidationError

from ingest.feedlist import FeedSpec


class OpmlError(Exception):
    """An OPML file that cannot be read at all."""


def _walk(
    node: Element, folders: tuple[str, ...], out: list[FeedSpec], problems: list[str]
) -> None:
    for child in node:
        if child.tag.rsplit("}", 1)[-1] != "outline":
            continue
        attrs = {k.lower(): v for k, v in child.attrib.items()}
        title = (attrs.get("title") or attrs.get("text") or "").strip()
        url = (attrs.get("xmlurl") or "").strip()
        if url:
            categories = [c.strip().strip("/") for c in attrs.get("category", "").split(",")]
            tags = tuple(dict.fromkeys([*folders, *(c for c in categories if c)]))
            try:
                out.append(
                    FeedSpec(
                        url=url, name=title, tags=tags, language=attrs.get("language", "").strip()
                    )
                )
            except ValidationError as exc:
                problems.append(f"skipped {url!r}: {exc.errors()[0]['msg']}")
        # Readers nest feeds in folders; the folder names become tags.
        _walk(child, (*folders, title) if title and not url else folders, out, problems)


def parse_opml(data: bytes) -> tuple[list[FeedSpec], list[str]]:
    """Feeds from OPML bytes, plus one message per outline that could not be used.

    Parsed with defusedxml: an OPML file from elsewhere is untrusted input.
    """
    try:
        root = SafeET.fromstring(data)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise OpmlError(f"not a readable OPML file: {exc}") from exc
    body = next((el for el in root if el.tag.rsplit("}", 1)[-1] == "body"), None)
    if body is None:
        raise OpmlError("OPML has no <body>")
    feeds: list[FeedSpec] = []
    problems: list[str] = []
    _walk(body, (), feeds, problems)
    return feeds, problems
