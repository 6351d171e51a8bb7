"""The SAX driver feedparser's strict parser runs on: expat that refuses DTD internal subsets.

A DTD internal subset is where both the "billion laughs" entity bomb and external
entity (XXE) attacks are declared. A scan of the raw bytes for it can be fooled
(a comment such as ``<!-- <a -->`` before the DOCTYPE, or a UTF-16 body), so the
refusal happens inside expat itself, after feedparser has decoded the document:
the DOCTYPE event is raised before any entity is declared, let alone expanded.

The refusal is a :class:`xml.sax.SAXParseException`, the error feedparser
already answers by re-reading the document with its loose parser, which never
expands declared entities. So the good entries of such a feed are still kept.
:func:`install` puts this driver first in feedparser's parser list.
"""

from __future__ import annotations

import xml.sax
from typing import Any

import feedparser.api
from defusedxml.common import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

_DRIVER = __name__


class DtdRefused(xml.sax.SAXParseException):
    """A DOCTYPE with an internal subset, or a declared or external entity."""


class RefusingExpatParser(DefusedExpatParser):
    """defusedxml's expat reader (entity declarations forbidden) that also refuses any
    DOCTYPE carrying an internal subset, as a SAX error, and loads nothing external."""

    def refuse_internal_subset(
        self, name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool
    ) -> None:
        # A DOCTYPE naming only an external DTD (RSS 0.91's Netscape one) is harmless:
        # expat never fetches it, and feedparser reads its version from it.
        if has_internal_subset:
            raise DtdRefused(f"DOCTYPE {name} with an internal subset refused", None, self)

    def skip_external_reference(
        self, context: str | None, base: str | None, sysid: str | None, pubid: str | None
    ) -> int:
        # Nothing external is ever loaded. General entities are declared only in an
        # internal subset, refused above, so what reaches here is a DOCTYPE's
        # external DTD (context None), which is skipped like a non-validating parser
        # does, instead of defusedxml's error that would cost the feed its strict parse.
        return 1

    def reset(self) -> None:
        super().reset()
        # expatreader keeps its pyexpat parser private; defusedxml sets handlers on it too.
        parser = self._parser  # type: ignore[attr-defined]
        parser.StartDoctypeDeclHandler = self.refuse_internal_subset
        parser.ExternalEntityRefHandler = self.skip_external_reference

    def feed(self, data: Any, isFinal: bool = False) -> None:  # SAX names it isFinal
        try:
            super().feed(data, isFinal)
        except DtdRefused as exc:
            self.getErrorHandler().fatalError(exc)
            raise
        except DefusedXmlException as exc:
            # defusedxml raises ValueError subclasses, which feedparser does not catch.
            refused = DtdRefused(f"{type(exc).__name__}: {exc}", None, self)
            self.getErrorHandler().fatalError(refused)
            raise refused from exc


def create_parser(*args: Any, **kwargs: Any) -> RefusingExpatParser:
    """The entry point ``xml.sax.make_parser`` calls for a driver module."""
    return RefusingExpatParser(*args, **kwargs)


def install() -> None:
    """Make this driver the one feedparser's strict parser uses (idempotent)."""
    # feedparser.parse has no parser argument; it hands this module-level list to
    # xml.sax.make_parser, which imports the first driver that loads.
    feedparser.api.PREFERRED_XML_PARSERS[:] = [_DRIVER]
