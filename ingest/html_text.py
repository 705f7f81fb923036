"""Turn a help-centre HTML page into Markdown-like text, so one heading-aware chunker serves
every format. Only the standard library's parser: pages are trusted editor files, but scripts,
styles and navigation are dropped rather than indexed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_SKIP = {"script", "style", "nav", "header", "footer", "noscript", "template", "svg"}
_BLOCK = {
    "p",
    "div",
    "section",
    "article",
    "table",
    "tr",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "dl",
    "main",
    "br",
}


@dataclass
class HtmlParts:
    """What a page says about itself (title, language, `kb:*` metas) and its text."""

    title: str = ""
    lang: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    markdown: str = ""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts = HtmlParts()
        self.out: list[str] = []
        self.skip_depth = 0
        self.in_title = False
        self.h1 = ""
        self.heading: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "html" and values.get("lang"):
            self.parts.lang = values["lang"]
        elif tag == "meta" and values.get("name", "").startswith("kb:"):
            self.parts.meta[values["name"][3:]] = values.get("content", "")
        elif tag == "title":
            self.in_title = True
        elif tag in _SKIP:
            self.skip_depth += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.heading = int(tag[1])
            self.out.append("\n\n" + "#" * self.heading + " ")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" | ")
        elif tag in _BLOCK:
            self.out.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self.heading = None
            self.out.append("\n\n")
        elif tag in _BLOCK:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.parts.title += data
        elif not self.skip_depth:
            text = re.sub(r"\s+", " ", data)
            if self.heading == 1:
                self.h1 += text
            self.out.append(text)


def html_to_article_parts(html: str) -> HtmlParts:
    """Parse `html` into its title, language, `kb:` metadata and Markdown-like body."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    parts = parser.parts
    parts.title = parts.title.strip() or parser.h1.strip()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    parts.markdown = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return parts
