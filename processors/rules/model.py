"""Watch rules (pydantic config) and the compiled :class:`RuleBook` that matches them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from processors.rules.match import (
    Compiled,
    Doc,
    LiteralTable,
    best_clause,
    collect_terms,
    compile_node,
    explain_node,
    fields_used,
    fuse,
)
from processors.rules.query import FIELDS, fold, parse_query
from wirewatch.events import Article, RuleMatch

FieldName = Literal["title", "summary", "body", "source", "url"]
# Where unscoped terms look unless a rule says otherwise: the whole article.
DEFAULT_SCOPE: tuple[FieldName, ...] = ("title", "summary", "body")


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceFilter(_Config):
    """Outlets a rule listens to: a name ("Reuters") or a domain ("reuters.com")."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


class SpreadPolicy(_Config):
    """A follow-up when the story spreads fast: ``outlets`` new outlets within ``minutes``."""

    outlets: int = Field(ge=1)
    minutes: float = Field(gt=0)


class Rule(_Config):
    """One watch rule as written in ``rules.yaml``."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    name: str = ""
    query: str = Field(min_length=1)
    scope: tuple[FieldName, ...] = DEFAULT_SCOPE
    sources: SourceFilter = SourceFilter()
    languages: tuple[str, ...] = ()
    min_sources: int = Field(1, ge=1)
    followup_sources: int | None = Field(None, ge=2)
    followup_spread: SpreadPolicy | None = None
    severity: Literal["low", "normal", "high"] = "normal"
    notify: tuple[str, ...] = ()
    digest: str | None = None
    enabled: bool = True

    @field_validator("followup_sources")
    @classmethod
    def _followup_after_first(cls, value: int | None, info: ValidationInfo) -> int | None:
        first = info.data.get("min_sources", 1)
        if value is not None and value <= first:
            raise ValueError(f"must be greater than min_sources ({first})")
        return value

    @property
    def title(self) -> str:
        return self.name or self.id


class RulesFile(_Config):
    version: Literal[1]
    rules: tuple[Rule, ...] = ()


def hash_content(data: bytes) -> str:
    """The version of a rules file: the same bytes give the same version on every worker."""
    return hashlib.sha256(data).hexdigest()[:16]


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _names_source(entry: str, source: str, hosts: Iterable[str]) -> bool:
    wanted = fold(entry.strip())
    if wanted == source:
        return True
    return any(host == wanted or host.endswith("." + wanted) for host in hosts if host)


@dataclass(frozen=True)
class _Entry:
    rule: Rule
    index: int
    root: Compiled
    clauses: tuple[frozenset[int], ...]  # besides the one it is indexed under
    filtered: bool  # has source or language conditions


class RuleBook:
    """Every enabled rule compiled into one matcher.

    ``version`` identifies the rules that produced a match; it is recorded on
    every event. ``match`` applies text, source and language conditions;
    ``min_sources``/``followup_sources`` need the story and are the pipeline's.
    """

    def __init__(self, rules: Iterable[Rule], version: str = "") -> None:
        self.all_rules = tuple(rules)
        self.rules = tuple(r for r in self.all_rules if r.enabled)
        self.version = version or hash_content(
            "\n".join(r.model_dump_json() for r in self.all_rules).encode()
        )
        self._by_id = {r.id: r for r in self.all_rules}
        table = LiteralTable()
        self._entries: list[_Entry] = []
        self._always: list[int] = []
        by_literal: dict[int, list[int]] = {}
        used: frozenset[int] = frozenset()
        for index, rule in enumerate(self.rules):
            scope = frozenset(FIELDS.index(f) for f in rule.scope)
            root = compile_node(parse_query(rule.query), table, scope)
            clauses = root.clauses(table.costs)
            first = best_clause(clauses, table.costs)
            filtered = bool(rule.sources.include or rule.sources.exclude or rule.languages)
            # The clause a rule is indexed under holds for every candidate; check the rest.
            rest = tuple(c for c in clauses if c is not first)
            self._entries.append(_Entry(rule, index, root, rest, filtered))
            used |= fields_used(root)
            if first is None:
                self._always.append(index)
            for lid in first or ():
                by_literal.setdefault(lid, []).append(index)
        self._by_literal = [tuple(by_literal.get(lid, ())) for lid in range(len(table.keys))]
        self._fields_used = used
        self._literals = table.build()
        for entry in self._entries:
            fuse(entry.root, used)

    def get(self, rule_id: str) -> Rule | None:
        """The rule with this id (enabled or not), or None."""
        return self._by_id.get(rule_id)

    def scan(self, article: Article) -> Doc:
        """Tokenise an article and find every literal of every rule in it."""
        doc = Doc(
            {
                "title": article.title,
                "summary": article.summary,
                "source": article.source,
                "url": article.url,
                "body": article.body,
            },
            self._fields_used,
        )
        doc.scan(self._literals)
        return doc

    def match(self, article: Article) -> list[RuleMatch]:
        """The rules that fire on ``article``, in file order, with their matched words."""
        doc = self.scan(article)
        found, entries = doc.found, self._entries
        # Every literal id has an entry, so the union runs in C.
        candidates = set(chain.from_iterable(map(self._by_literal.__getitem__, found)))
        candidates.update(self._always)
        matches = []
        for index in sorted(candidates):
            entry = entries[index]
            for clause in entry.clauses:
                if found.isdisjoint(clause):
                    break
            else:
                if entry.filtered and self.filter_reason(entry.rule, article):
                    continue
                if entry.root.test(doc):
                    rule = entry.rule
                    # Matched terms are collected only for the few rules that fire.
                    matches.append(
                        RuleMatch(
                            rule_id=rule.id,
                            name=rule.title,
                            terms=_ordered_terms(entry.root, doc),
                            severity=rule.severity,
                            notify=rule.notify,
                        )
                    )
        return matches

    @staticmethod
    def filter_reason(rule: Rule, article: Article) -> str:
        """Why the source/language filters reject ``article`` ('' when they pass)."""
        source = fold(article.source.strip())
        hosts = (_host(article.url), _host(article.feed_url))
        include, exclude = rule.sources.include, rule.sources.exclude
        if include and not any(_names_source(e, source, hosts) for e in include):
            return f"source {article.source!r} is not in sources.include"
        if any(_names_source(e, source, hosts) for e in exclude):
            return f"source {article.source!r} is in sources.exclude"
        if rule.languages:
            lang = article.language.lower().replace("_", "-").split("-")[0]
            if lang not in {x.lower() for x in rule.languages}:
                return f"language {article.language!r} is not in {list(rule.languages)}"
        return ""

    def explain(self, article: Article, rule_id: str) -> list[str]:
        """Why ``rule_id`` does or does not fire: one line per clause."""
        entry = next((e for e in self._entries if e.rule.id == rule_id), None)
        if entry is None:
            rule = self.get(rule_id)
            return [f"rule {rule_id!r} is " + ("disabled" if rule else "not in this file")]
        doc = self.scan(article)
        lines = []
        reason = self.filter_reason(entry.rule, article)
        lines.append(f"✗ {reason}" if reason else "✓ source and language filters pass")
        lines.extend(explain_node(entry.root, doc))
        return lines


def _ordered_terms(root: Compiled, doc: Doc) -> tuple[str, ...]:
    found: list[tuple[int, int, str]] = []
    collect_terms(root, doc, found)
    return tuple(dict.fromkeys(text for _f, _o, text in sorted(found)))
