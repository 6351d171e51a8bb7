"""Watch rules: the public face of the rule language, loader, matcher and watcher.

A rules file (``config/rules.yaml``) looks like::

    version: 1
    rules:
      - id: cartel-extraditions
        name: Cartel members extradited to the US
        query: 'cartel* NEAR/10 (extradit* OR "handed over")'
        severity: high
        notify: [newsroom]

The query language is described in :mod:`processors.query`; matching in
:mod:`processors.rules_match`; positions of problems in :mod:`processors.rules_yaml`;
hot reload (and why all workers agree on ``RuleBook.version``) in
:mod:`processors.rules_watch`.
"""

from __future__ import annotations

from processors.query import QuerySyntaxError, fold, parse_query, tokenize
from processors.rules_load import RulesError, check_rules_bytes, load_rules, load_rules_bytes
from processors.rules_model import Rule, RuleBook, RulesFile, SourceFilter, hash_content
from processors.rules_watch import RuleChanges, RulesWatcher, diff_books
from processors.rules_yaml import Problem

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
