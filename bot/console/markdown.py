"""The bot's Markdown as safe HTML for the console: **bold**, lists, links and paragraphs.

Raw HTML in the text is never passed through (markdown-it with `html` off escapes it), images
are not rendered (they would load from anywhere), and only http(s) and mailto links become
links, opening in a new tab without a way back into the console. Visitor and agent text is
not Markdown: the templates show it as plain escaped text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

_SCHEMES = ("http://", "https://", "mailto:")


class _BotMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:  # markdown-it's name for it
        return url.strip().lower().startswith(_SCHEMES)


def _link_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer")
    tokens[idx].attrSet("target", "_blank")
    return str(renderer.renderToken(tokens, idx, options, env))


_MD = _BotMarkdown("commonmark", {"html": False, "typographer": False}).disable("image")
_MD.add_render_rule("link_open", _link_open)


def bot_markdown(text: str) -> Markup:
    """HTML of the bot's text; safe to put in a page as it is."""
    return Markup(_MD.render(text))  # noqa: S704 - markdown-it escapes all text and raw HTML
