"""Read the knowledge base: Markdown with front matter, HTML pages and FAQ tables (CSV/TSV).

Every problem is collected as `file:line: message`, so an editor sees all of them at once, and
nothing is published while any remains.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ingest.documents import Article
from ingest.html_text import html_to_article_parts

SUPPORTED_SUFFIXES = (".md", ".markdown", ".html", ".htm", ".csv", ".tsv")
FRONT_MATTER_FIELDS = {"id", "title", "lang", "url", "group", "tags", "questions"}
FAQ_COLUMNS = {"question", "answer", "url", "lang", "id", "group", "questions", "tags"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,199}$")
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FIELD = re.compile(r"^([A-Za-z_][\w-]*)\s*:")

try:  # the C loader is ~10x faster on large knowledge bases
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, pointing at the line to fix."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class KnowledgeBaseInvalid(Exception):
    """The knowledge base has problems; nothing may be published."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class SourceFile:
    """A knowledge-base file as bytes, with the hash that lets ingestion skip re-parsing it."""

    path: Path
    rel: str
    data: bytes


def discover(kb_dir: Path) -> tuple[list[Path], list[Path]]:
    """Return (files to load, files skipped) below `kb_dir`, in a stable order.

    Hidden files and names starting with `_` are the editors' own (drafts, notes) and skipped,
    as is a top-level README. A file that is (or lies under) a link leading out of `kb_dir` is
    refused: ingestion publishes what it reads, so it must not read the rest of the disk.
    """
    if not kb_dir.is_dir():
        raise KnowledgeBaseInvalid([Problem(str(kb_dir), 0, "knowledge-base folder not found")])
    load, skipped, escaping = [], [], []
    root = kb_dir.resolve()
    for path in sorted(kb_dir.rglob("*")):
        rel = path.relative_to(kb_dir)
        if not path.is_file() or any(p.startswith((".", "_")) for p in rel.parts):
            continue
        if not path.resolve().is_relative_to(root):  # a link out of the folder: never read it
            escaping.append(
                Problem(
                    rel.as_posix(),
                    0,
                    f"links to {path.resolve()}, outside the knowledge-base folder; refused "
                    "(copy the file into the folder instead)",
                )
            )
            continue
        if path.suffix.lower() in SUPPORTED_SUFFIXES and rel.as_posix().lower() != "readme.md":
            load.append(path)
        else:
            skipped.append(path)
    if escaping:
        raise KnowledgeBaseInvalid(escaping)
    return load, skipped


def load_file(
    path: Path, kb_dir: Path, *, languages: Sequence[str], default_language: str
) -> tuple[list[Article], list[Problem]]:
    """Parse one file into its articles, or the problems that stop it."""
    rel = path.relative_to(kb_dir).as_posix()
    data = path.read_bytes()
    text, problem = _decode(data, rel)
    if problem:
        return [], [problem]
    folder_lang = _folder_language(rel, languages)
    context = _Context(rel, languages, folder_lang or default_language)
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown"):
        return context.markdown(text)
    if suffix in (".html", ".htm"):
        return context.html(text)
    return context.table(text, delimiter="\t" if suffix == ".tsv" else ",")


def load_knowledge_base(
    kb_dir: Path, *, languages: Sequence[str], default_language: str
) -> list[Article]:
    """Load and validate every article below `kb_dir`; raise with all problems at once."""
    files, _ = discover(kb_dir)
    articles: list[Article] = []
    problems: list[Problem] = []
    for path in files:
        found, wrong = load_file(
            path, kb_dir, languages=languages, default_language=default_language
        )
        articles.extend(found)
        problems.extend(wrong)
    problems.extend(check_unique(articles))
    if problems:
        raise KnowledgeBaseInvalid(problems)
    return articles


def check_unique(articles: Iterable[Article]) -> list[Problem]:
    """Two articles with one id would shadow each other: name both places."""
    seen: dict[str, Article] = {}
    problems = []
    for article in articles:
        first = seen.setdefault(article.id, article)
        if first is not article:
            problems.append(
                Problem(article.source, 1, f"duplicate id {article.id!r} (also in {first.source})")
            )
    return problems


# What YAML says it was reading when it ran out of text: the mistake is where that began.
_UNCLOSED = {
    "while scanning a quoted scalar": "a quoted value that is never closed",
    "while parsing a flow sequence": "a [ list that is never closed with ]",
    "while parsing a flow mapping": "a { mapping that is never closed with }",
}


def _yaml_mistake(exc: yaml.YAMLError, *, first_line: int) -> tuple[int, str]:
    """The file line of a YAML mistake (the block starts at `first_line`) and what it is.
    Something left open (a quote, a bracket) is only noticed lines later, at the end of the
    block: point at the line where it was opened instead."""
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    reason = getattr(exc, "problem", None) or "cannot parse"
    unclosed = _UNCLOSED.get(getattr(exc, "context", None) or "")
    if unclosed and context_mark is not None:
        found = f" ({reason} on line {problem_mark.line + first_line})" if problem_mark else ""
        return context_mark.line + first_line, unclosed + found
    if problem_mark is None:
        return first_line - 1, reason
    return problem_mark.line + first_line, reason


def _unclosed_quote(text: str, delimiter: str) -> int | None:
    """The line of the row whose opening quote is never closed, if any."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            return start
    return None


def _decode(data: bytes, rel: str) -> tuple[str, Problem | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return "", Problem(rel, line, "not valid UTF-8 (save the file as UTF-8)")


def _folder_language(rel: str, languages: Sequence[str]) -> str | None:
    first = rel.split("/", 1)[0]
    return first if "/" in rel and first in languages else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "item"


class _Context:
    """Parsing state for one file: its path for messages and its default language."""

    def __init__(self, rel: str, languages: Sequence[str], default_lang: str):
        self.rel = rel
        self.languages = languages
        self.default_lang = default_lang
        self.default_id = rel.rsplit(".", 1)[0]

    def problem(self, line: int, message: str) -> Problem:
        return Problem(self.rel, line, message)

    def markdown(self, text: str) -> tuple[list[Article], list[Problem]]:
        meta: dict[str, Any] = {}
        body, body_line = text, 1
        field_lines: dict[str, int] = {}
        if text.startswith("---"):
            lines = text.split("\n")
            end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
            if end is None:
                return [], [self.problem(1, "front matter starts with --- but never ends")]
            try:
                loaded = yaml.load("\n".join(lines[1:end]), Loader=_YamlLoader)  # noqa: S506
            except yaml.YAMLError as exc:
                line, reason = _yaml_mistake(exc, first_line=2)
                return [], [self.problem(line, f"front matter is not valid YAML: {reason}")]
            if loaded is not None and not isinstance(loaded, dict):
                return [], [self.problem(2, "front matter must be key: value pairs")]
            meta = loaded or {}
            body, body_line = "\n".join(lines[end + 1 :]), end + 2
            # Point a bad field's problem at its own line, not at the start of the body.
            field_lines = {
                m.group(1): i + 1
                for i, line in enumerate(lines[1:end], 1)
                if (m := _FIELD.match(line))
            }
        if "title" not in meta:
            h1 = _H1.search(body)
            if h1:
                meta["title"] = h1.group(1)
        return self.build(meta, body, line=body_line, field_lines=field_lines)

    def html(self, text: str) -> tuple[list[Article], list[Problem]]:
        parts = html_to_article_parts(text)
        meta: dict[str, Any] = dict(parts.meta)
        if parts.lang:
            meta.setdefault("lang", parts.lang.split("-")[0].lower())
        if parts.title:
            meta.setdefault("title", parts.title)
        for key in ("questions", "tags"):
            if isinstance(meta.get(key), str):
                meta[key] = [
                    q.strip()
                    for q in re.split(r"\s*[|,]\s*" if key == "tags" else r"\s*\|\s*", meta[key])
                    if q.strip()
                ]
        return self.build(meta, parts.markdown, line=1)

    def table(self, text: str, *, delimiter: str) -> tuple[list[Article], list[Problem]]:
        unclosed = _unclosed_quote(text, delimiter)
        if unclosed is not None:  # read leniently, the rest of the file would be one cell
            return [], [
                self.problem(unclosed, 'a quoted cell in this row is never closed (missing ")')
            ]
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = {"question", "answer"} - set(header)
        if missing:
            return [], [self.problem(1, f"FAQ table needs columns {sorted(missing)}; has {header}")]
        unknown = set(header) - FAQ_COLUMNS
        if unknown:
            return [], [
                self.problem(
                    1, f"unknown columns {sorted(unknown)}; allowed: {sorted(FAQ_COLUMNS)}"
                )
            ]
        articles, problems = [], []
        rows = []  # (line the row starts on, row): a quoted cell may span several lines
        try:
            start = reader.line_num + 1
            for row in reader:
                rows.append((start, row))
                start = reader.line_num + 1
        except csv.Error as exc:
            return [], [self.problem(reader.line_num, f"cannot read table: {exc}")]
        for number, row in rows:
            clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
            if None in row:
                problems.append(self.problem(number, "more cells than columns"))
                continue
            meta: dict[str, Any] = {"title": clean.get("question", "")}
            for key in ("url", "lang", "group"):
                if clean.get(key):
                    meta[key] = clean[key]
            meta["id"] = clean.get("id") or f"{self.default_id}/{_slug(meta['title'])}"
            for key in ("questions", "tags"):
                if clean.get(key):
                    meta[key] = [q.strip() for q in clean[key].split("|") if q.strip()]
            found, wrong = self.build(meta, clean.get("answer", ""), line=number)
            articles.extend(found)
            problems.extend(wrong)
        return articles, problems

    def build(
        self,
        meta: dict[str, Any],
        body: str,
        *,
        line: int,
        field_lines: dict[str, int] | None = None,
    ) -> tuple[list[Article], list[Problem]]:
        lines = field_lines or {}

        def at(key: str) -> int:
            return lines.get(key, line)

        problems = []
        unknown = set(meta) - FRONT_MATTER_FIELDS
        if unknown:
            problems.append(
                self.problem(
                    min(at(str(key)) for key in unknown),
                    f"unknown field(s) {sorted(unknown)}; allowed: {sorted(FRONT_MATTER_FIELDS)}",
                )
            )
        title = str(meta.get("title") or "").strip()
        if not title:
            problems.append(self.problem(line, "missing title (add `title:` or a # heading)"))
        lang = str(meta.get("lang") or self.default_lang).strip().lower()
        if lang not in self.languages:
            problems.append(
                self.problem(
                    at("lang"), f"unknown language {lang!r}; expected one of {list(self.languages)}"
                )
            )
        article_id = str(meta.get("id") or self.default_id).strip()
        if not _ID.match(article_id):
            problems.append(
                self.problem(
                    at("id"), f"id {article_id!r} may use letters, digits and - _ . / only"
                )
            )
        if not _H1.sub("", body).strip():
            problems.append(self.problem(line, "empty body"))
        lists = {}
        for key in ("questions", "tags"):
            value = meta.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
                problems.append(self.problem(at(key), f"{key} must be a list of texts"))
                value = []
            lists[key] = tuple(str(v).strip() for v in value if str(v).strip())
        url = meta.get("url")
        if url is not None and not re.match(r"^(https?://|/)", str(url)):
            problems.append(self.problem(at("url"), f"url {url!r} must start with http(s):// or /"))
        if problems:
            return [], problems
        return [
            Article(
                id=article_id,
                lang=lang,
                title=title,
                body=body.strip(),
                source=self.rel,
                url=str(url) if url else None,
                group=str(meta.get("group") or "").strip(),
                tags=lists["tags"],
                questions=lists["questions"],
            )
        ], []
