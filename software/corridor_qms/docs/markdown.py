"""The project's Markdown documents (plans, classification, architecture) as HTML inside an
audit document, rendered by markdown-it-py (CommonMark with tables), never shown as source.

Raw HTML in a document is text, not markup (``html=False``): every character of the source is
escaped, and markdown-it's own link check refuses ``javascript:`` and similar addresses.
Headings are demoted below the embedding document's own levels, so a document's ``#`` never
competes with the report's sections.  The caller's ID linker runs on text only (never inside
a tag, an attribute, a code span or an existing link).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererProtocol
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

__all__ = ["render_markdown"]

_LINK_DEPTH = "corridor_link_depth"
"""The renderer's count of open Markdown links, kept in markdown-it's per-render ``env``."""


def _parser(link_ids: Callable[[str], str]) -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")

    def text(renderer: RendererProtocol, tokens: Sequence[Token], idx: int,
             options: OptionsDict, env: EnvType) -> str:
        escaped = str(escape(tokens[idx].content))
        return escaped if env.get(_LINK_DEPTH, 0) else link_ids(escaped)

    def link_open(renderer: RendererProtocol, tokens: Sequence[Token], idx: int,
                  options: OptionsDict, env: EnvType) -> str:
        env[_LINK_DEPTH] = env.get(_LINK_DEPTH, 0) + 1
        return renderer.renderToken(tokens, idx, options, env)  # type: ignore[attr-defined,no-any-return]

    def link_close(renderer: RendererProtocol, tokens: Sequence[Token], idx: int,
                   options: OptionsDict, env: EnvType) -> str:
        env[_LINK_DEPTH] = env.get(_LINK_DEPTH, 0) - 1
        return renderer.renderToken(tokens, idx, options, env)  # type: ignore[attr-defined,no-any-return]

    parser.add_render_rule("text", text)
    parser.add_render_rule("link_open", link_open)
    parser.add_render_rule("link_close", link_close)
    return parser


def render_markdown(source: str, *, link_ids: Callable[[str], str], demote: int) -> Markup:
    """One Markdown document as an HTML fragment.

    Parameters
    ----------
    source
        The document's text (CommonMark with GitHub-style tables).
    link_ids
        Takes escaped text and returns it as HTML with IDs made links (e.g. ``SRS-DOC-001`` to
        ``<a href="#SRS-DOC-001">``); applied to text outside links only.
    demote
        Levels added to every heading (``#`` becomes ``h{1 + demote}``), at most ``h6``.

    Returns
    -------
    Markup
        Headings, paragraphs, lists, tables (``thead``/``tbody``), code and links; any HTML
        in ``source`` shown as text.
    """
    if demote < 0:
        raise ValueError(f"demote: found {demote}, expected 0 or more heading levels")
    parser = _parser(link_ids)
    tokens = parser.parse(source, {})
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + demote)}"
    return Markup(parser.renderer.render(tokens, parser.options, {}))
