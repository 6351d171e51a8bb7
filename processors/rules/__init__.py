"""Watch rules: the public face of the rule language, loader, matcher and watcher.

A rules file (``config/rules.yaml``) looks like::

    version: 1
    rules:
      - id: cartel-extraditions
        name: Cartel members extradited to the US
        query: 'cartel* NEAR/10 (extradit* OR "handed over")'
        severity: high
        notify: [newsroom]

The query language is described in :mod:`processors.rules.query`; matching in
:mod:`processors.rules.match`; positions of problems in :mod:`processors.rules.yaml`;
hot reload (and why all workers agree on ``RuleBook.version``) in
:mod:`processors.rules.watch`.
"""

from __future__ import annotations

from processors.rules.load import RulesError, check_rules_bytes, load_rules, load_rules_bytes
from processors.rules.model import Rule, RuleBook, RulesFile, SourceFilter, hash_content
from processors.rules.query import QuerySyntaxError, fold, parse_query, tokenize
from processors.rules.watch import RuleChanges, RulesWatcher, diff_books
from processors.rules.yaml import Problem

__all__ = [
    "Problem",
    "QuerySyntaxError",
    "Rule",
    "RuleBook",
    "RuleChanges",
    "RulesError",
    "RulesFile",
    "RulesWatcher",
    "SourceFilter",
    "check_rules_bytes",
    "diff_books",
    "fold",
    "hash_content",
    "load_rules",
    "load_rules_bytes",
    "parse_query",
    "tokenize",
]
