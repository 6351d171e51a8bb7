"""Load and check a rules file, collecting every problem with its line and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from processors.rules.model import Rule, RuleBook, RulesFile, hash_content
from processors.rules.query import QuerySyntaxError, parse_query
from processors.rules.yaml import (
    Problem,
    SourceText,
    child,
    compose,
    node_for_loc,
    scalar_index,
)

_RULE_KEYS = ", ".join(Rule.model_fields)


class RulesError(Exception):
    """A rules file that cannot be used; ``errors`` holds every problem found."""

    def __init__(self, errors: list[Problem]) -> None:
        self.errors = errors
        super().__init__("\n".join(p.render() for p in errors))


def load_rules(path: Path, *, notify_config: Path | None = None) -> RuleBook:
    """Read, validate and compile ``path``; raises :class:`RulesError` listing all problems.

    With ``notify_config``, every ``notify`` tag must be carried by a target there.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RulesError([Problem(str(path), 0, 0, f"cannot read rules file: {exc}")]) from exc
    return load_rules_bytes(path, data, notify_config=notify_config)


def load_rules_bytes(path: Path, data: bytes, *, notify_config: Path | None = None) -> RuleBook:
    """:func:`load_rules` for content already read (the watcher hashes what it loads)."""
    book, problems = check_rules_bytes(path, data, notify_config=notify_config)
    if problems or book is None:
        raise RulesError(problems)
    return book


def check_rules_bytes(
    path: Path, data: bytes, *, notify_config: Path | None = None
) -> tuple[RuleBook | None, list[Problem]]:
    """Every problem in a rules file, and its compiled book when there is none."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [Problem(str(path), line, 1, f"not UTF-8: {exc.reason}")]
    src = SourceText(path, text)
    try:
        root = compose(text)
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        return None, [src.at_mark(where, f"YAML syntax error: {what}")]
    except yaml.YAMLError as exc:
        return None, [Problem(src.path, 0, 0, f"YAML syntax error: {exc}")]
    if root is None or not isinstance(raw, dict):
        return None, [src.at_node(root, "expected a mapping with 'version: 1' and 'rules:'")]

    problems = _duplicate_keys(src, root)
    parsed: RulesFile | None = None
    try:
        parsed = RulesFile.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_validation_problems(src, root, exc))
    _, rules_node = child(root, "rules")
    rule_nodes = rules_node.value if isinstance(rules_node, yaml.SequenceNode) else []
    problems.extend(_query_problems(src, rule_nodes))
    problems.extend(_duplicate_ids(src, rule_nodes))
    if notify_config is not None:
        problems.extend(_notify_problems(src, rule_nodes, Path(notify_config)))
    problems.sort(key=lambda p: (p.path != src.path, p.line, p.col))
    if problems or parsed is None:
        return None, problems
    return RuleBook(parsed.rules, version=hash_content(data)), []


def _validation_problems(src: SourceText, root: yaml.Node, exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "file"
        kind = err["type"]
        if kind == "extra_forbidden":
            allowed = f" (rule keys: {_RULE_KEYS})" if len(loc) == 3 else ""
            message = f"unknown key '{loc[-1]}' in {_parent(loc)}{allowed}"
            out.append(src.at_node(node_for_loc(root, loc, key=True), message))
        elif kind == "missing":
            message = f"missing required key '{loc[-1]}' in {_parent(loc)}"
            out.append(src.at_node(node_for_loc(root, loc[:-1], key=False), message))
        else:
            message = f"{where}: {err['msg']}"
            out.append(src.at_node(node_for_loc(root, loc, key=False), message))
    return out


def _parent(loc: tuple[Any, ...]) -> str:
    if len(loc) <= 1:
        return "the top level"
    return ".".join(str(p) for p in loc[:-1])


def _query_problems(src: SourceText, rule_nodes: list[yaml.Node]) -> list[Problem]:
    out = []
    for node in rule_nodes:
        _, qnode = child(node, "query")
        if not isinstance(qnode, yaml.ScalarNode) or qnode.tag != "tag:yaml.org,2002:str":
            continue  # not text: pydantic already says "string expected"
        try:
            parse_query(qnode.value)
        except QuerySyntaxError as exc:
            index = scalar_index(qnode, src.text, exc.offset)
            out.append(src.problem_at(index, f"query: {exc.message}"))
    return out


def _duplicate_ids(src: SourceText, rule_nodes: list[yaml.Node]) -> list[Problem]:
    out = []
    first: dict[str, int] = {}
    for node in rule_nodes:
        _, inode = child(node, "id")
        if not isinstance(inode, yaml.ScalarNode):
            continue
        rule_id = inode.value
        line = inode.start_mark.line + 1
        if rule_id in first:
            message = f"duplicate rule id '{rule_id}' (first defined on line {first[rule_id]})"
            out.append(src.at_node(inode, message))
        else:
            first[rule_id] = line
    return out


def _duplicate_keys(src: SourceText, node: yaml.Node) -> list[Problem]:
    # PyYAML keeps the last of two equal keys silently; a user means one of them.
    out = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for knode, vnode in node.value:
            if isinstance(knode, yaml.ScalarNode):
                if knode.value in seen:
                    out.append(src.at_node(knode, f"duplicate key '{knode.value}'"))
                seen.add(knode.value)
            out.extend(_duplicate_keys(src, vnode))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            out.extend(_duplicate_keys(src, item))
    return out


def _notify_problems(
    src: SourceText, rule_nodes: list[yaml.Node], notify_path: Path
) -> list[Problem]:
    from wirewatch.notify_config import load_notify_config, notify_tags

    config = load_notify_config(notify_path)
    out = [_problem_from_line(e) for e in config.errors]
    if not config.targets and not config.errors:
        # Console-only mode: with no target configured at all, alerts go to the
        # console and the JSONL file, so no tag can be "missing" yet.
        return out
    known = notify_tags(notify_path)
    hint = f"tags there: {', '.join(sorted(known))}" if known else "it has no tagged targets"
    # Walk the nodes, not the validated model, so that a rule with another
    # problem still has its tags checked.
    for rule_node in rule_nodes:
        _, tags = child(rule_node, "notify")
        tag_nodes = tags.value if isinstance(tags, yaml.SequenceNode) else [tags]
        for node in tag_nodes:
            if isinstance(node, yaml.ScalarNode) and node.value and node.value not in known:
                message = (
                    f"notify tag '{node.value}' is carried by no target in {notify_path} ({hint})"
                )
                out.append(src.at_node(node, message))
    return out


def _problem_from_line(error: str) -> Problem:
    """Turn the notify loader's ``file:line: message`` into a :class:`Problem`."""
    head, sep, message = error.partition(": ")
    path, colon, line = head.rpartition(":")
    if sep and colon and line.isdigit():
        lines = _read_lines(Path(path))
        number = int(line)
        source = lines[number - 1] if 0 < number <= len(lines) else ""
        indent = len(source) - len(source.lstrip())
        return Problem(path, number, indent + 1, message, source)
    return Problem("notify", 0, 0, error)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
