"""Pure text helpers: plain text from HTML, canonical URLs, content hashes."""

from __future__ import annotations

import pytest

from ingest.text import canonical_url, clean_line, content_hash, html_to_text, sanitize_html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.COM/a/b?id=3#frag", "https://example.com/a/b?id=3"),
        ("HTTP://example.com:80/x", "http://example.com/x"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        (
            "https://ex.com/s?utm_source=rss&utm_medium=feed&id=7&fbclid=abc",
            "https://ex.com/s?id=7",
        ),
        ("https://ex.com/s?b=2&a=1&gclid=z&mc_cid=q", "https://ex.com/s?b=2&a=1"),
        ("https://ex.com/s?UTM_Campaign=x", "https://ex.com/s"),
        ("  https://ex.com/p  ", "https://ex.com/p"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("tag:example.com,2024:1", "tag:example.com,2024:1"),
        ("https://ex.com:notaport/x", "https://ex.com:notaport/x"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ("Fish &amp; chips &#8211; &eacute;t&eacute;", "Fish & chips \u2013 \u00e9t\u00e9"),
        ("<p>one</p><p>two</p>", "one\ntwo"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<script>alert(1)</script>Safe<style>p{}</style>", "Safe"),
        ("<img src=x onerror=alert(1)>caption", "caption"),
        ("plain text, no markup", "plain text, no markup"),
        ("  lots   of\t\tspace \u00a0 here ", "lots of space here"),
        ("", ""),
        ("<p>unclosed <b>tags", "unclosed tags"),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_html_to_text_is_capped() -> None:
    assert len(html_to_text("<p>" + "x" * 100_000 + "</p>", max_chars=500)) == 500


def test_clean_line_folds_newlines() -> None:
    assert clean_line("<h1>Big</h1>\n<p>news</p>") == "Big news"


def test_sanitize_html_removes_scripts_and_handlers() -> None:
    cleaned = sanitize_html('<p onclick="x()">hi<script>evil()</script></p>')
    assert "script" not in cleaned
    assert "onclick" not in cleaned
    assert "hi" in cleaned


def test_content_hash_ignores_whitespace_but_not_words() -> None:
    base = content_hash("Title", "Some body text")
    assert content_hash(" Title ", "Some  body\ntext") == base
    assert content_hash("Title", "Some body text, edited") != base
    assert content_hash("Title!", "Some body text") != base
