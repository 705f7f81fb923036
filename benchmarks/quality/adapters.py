"""Turn the public benchmark sets of ``../shared/benchmarks`` into supportbot knowledge bases.

Every adapter reads one data folder and writes one or more *built sets* under an output
directory, each laid out as::

    <out>/<set>/kb/<lang>/<id>.md   one article per intent or FAQ row (YAML front matter with
                                    explicit id, title and lang, so ingestion needs no guessing)
    <out>/<set>/valid.csv           questions to tune the answer/handoff thresholds on
    <out>/<set>/test.csv            questions to report figures on

Question files have the columns ``question,expected,lang``; ``expected`` is an article id, or
empty where the right outcome is a handoff. Everything is deterministic: every shuffle uses a
``random.Random`` seeded from ``SEED`` and a stable key, so reruns give byte-identical files.

Splits we make ourselves (BANKING77 validation, xSID, COVID-QA) never ask a question that is
already an article's title or alternate question, and never ask the same question twice, so
the figures measure generalisation rather than look-up. Official splits (BANKING77 test,
BANKING77-OOS) are kept as published, minus blank lines, so they stay comparable with papers.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import random
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

SEED = 20_240_777
QUESTION_FIELDS = ("question", "expected", "lang")
BANKING77_VALID_PER_INTENT = 10
XSID_LANGUAGES = ("en", "de", "da")
XSID_CROSS_LANGUAGES = ("de", "da")
XSID_KB_SHARE = 0.5
XSID_MIN_SENTENCES = 4
COVID_LANGUAGES = ("de", "en")
ID_MAX_LENGTH = 60

_SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DROPPED_CATEGORIES = {"Cf", "Cs", "Cn"}  # zero-width space, soft hyphen, broken code points
_SPACE_CATEGORIES = {"Cc", "Zl", "Zp"}  # newlines, tabs and other controls inside a line
_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa"}
)
_QUOTES = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'", "“": '"', "”": '"', "„": '"'})
_ACRONYMS = {
    "atm": "ATM",
    "pin": "PIN",
    "apple": "Apple",
    "google": "Google",
    "visa": "Visa",
    "mastercard": "Mastercard",
    "uk": "UK",
}

# Article titles of the xSID intents per language: a German or Danish knowledge base has
# titles in its own language, so the lexical side can match them like real content.
XSID_TITLES: dict[str, dict[str, str]] = {
    "AddToPlaylist": {
        "en": "Add to a playlist",
        "de": "Zu einer Playlist hinzufügen",
        "da": "Tilføj til en playliste",
    },
    "BookRestaurant": {
        "en": "Book a restaurant",
        "de": "Restaurant reservieren",
        "da": "Bestil bord på en restaurant",
    },
    "PlayMusic": {"en": "Play music", "de": "Musik abspielen", "da": "Afspil musik"},
    "RateBook": {"en": "Rate a book", "de": "Ein Buch bewerten", "da": "Bedøm en bog"},
    "SearchCreativeWork": {
        "en": "Find a creative work",
        "de": "Ein Werk suchen",
        "da": "Søg efter et værk",
    },
    "SearchScreeningEvent": {
        "en": "Find film screenings",
        "de": "Kinovorstellungen suchen",
        "da": "Find filmforestillinger",
    },
    "alarm/cancel_alarm": {"en": "Cancel an alarm", "de": "Wecker löschen", "da": "Slet en alarm"},
    "alarm/modify_alarm": {"en": "Change an alarm", "de": "Wecker ändern", "da": "Ændr en alarm"},
    "alarm/set_alarm": {"en": "Set an alarm", "de": "Wecker stellen", "da": "Indstil en alarm"},
    "alarm/show_alarms": {"en": "Show alarms", "de": "Wecker anzeigen", "da": "Vis alarmer"},
    "alarm/snooze_alarm": {
        "en": "Snooze an alarm",
        "de": "Wecker schlummern lassen",
        "da": "Udsæt en alarm",
    },
    "reminder/cancel_reminder": {
        "en": "Cancel a reminder",
        "de": "Erinnerung löschen",
        "da": "Slet en påmindelse",
    },
    "reminder/set_reminder": {
        "en": "Set a reminder",
        "de": "Erinnerung einrichten",
        "da": "Opret en påmindelse",
    },
    "reminder/show_reminders": {
        "en": "Show reminders",
        "de": "Erinnerungen anzeigen",
        "da": "Vis påmindelser",
    },
    "weather/find": {"en": "Weather forecast", "de": "Wettervorhersage", "da": "Vejrudsigt"},
}
_INTENT_BODY = {
    "en": "This article answers requests of the kind “{title}”.",
    "de": "Dieser Artikel beantwortet Anfragen der Art „{title}“.",
    "da": "Denne artikel besvarer forespørgsler af typen »{title}«.",
}


@dataclass(frozen=True)
class Article:
    """One knowledge-base article as ingestion reads it."""

    id: str
    title: str
    lang: str
    body: str
    questions: tuple[str, ...] = ()
    group: str = ""
    url: str = ""


@dataclass(frozen=True)
class Question:
    """One row of a question file; an empty ``expected`` means the bot must hand off."""

    question: str
    expected: str
    lang: str


@dataclass
class BuiltSet:
    """What an adapter wrote for one set, with counts for the report."""

    name: str
    directory: Path
    articles: int
    questions: dict[str, int]
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def kb_dir(self) -> Path:
        """The knowledge-base directory to ingest."""
        return self.directory / "kb"

    def question_file(self, split: str) -> Path:
        """The question file of ``split`` (``valid`` or ``test``)."""
        return self.directory / f"{split}.csv"

    def to_json(self) -> dict[str, object]:
        """A JSON-friendly form, for the build stamp the runner caches."""
        return {
            "name": self.name,
            "directory": str(self.directory),
            "articles": self.articles,
            "questions": self.questions,
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuiltSet:
        """The inverse of :meth:`to_json`."""
        return cls(
            name=str(data["name"]),
            directory=Path(data["directory"]),
            articles=int(data["articles"]),
            questions={str(k): int(v) for k, v in data["questions"].items()},
            notes={str(k): int(v) for k, v in (data.get("notes") or {}).items()},
        )


# --------------------------------------------------------------------------- text helpers


def clean_text(text: str) -> str:
    """One tidy line: NFC, invisible characters dropped, controls and whitespace runs -> space.

    The data contains embedded newlines, non-breaking spaces, zero-width spaces and soft
    hyphens; removing them keeps questions on one CSV line and the YAML free of characters
    a YAML reader rejects.
    """
    chars = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if category in _DROPPED_CATEGORIES:
            continue
        chars.append(" " if category in _SPACE_CATEGORIES else char)
    return " ".join("".join(chars).split())


def clean_body(text: str) -> str:
    """Multi-line answer text: lines cleaned, blank-line runs collapsed, no stray headings.

    A plain-text line starting with ``#`` would become a Markdown heading and split the
    article in a place the author never meant, so it is escaped.
    """
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = clean_text(raw)
        if line.startswith("#"):
            line = "\\" + line
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip()


def text_key(text: str) -> str:
    """A comparison key: case, quote style, hyphens and end punctuation do not matter.

    COVID-QA pairs spell FAQ questions with other apostrophes or "Home Office" for
    "Home-Office"; the key lets those match without any fuzzy guessing.
    """
    text = unicodedata.normalize("NFKC", clean_text(text)).translate(_QUOTES).casefold()
    text = re.sub(r"[\u2010-\u2015-]", " ", text)
    return " ".join(text.split()).strip(" ?!.:;")


def slugify(text: str, max_length: int = ID_MAX_LENGTH) -> str:
    """A path-safe id from any text: lowercase ASCII, digits and single hyphens."""
    text = clean_text(text).casefold().translate(_TRANSLITERATION)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > max_length:
        cut = slug[:max_length]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug or "article"


def unique_ids(bases: Iterable[str]) -> list[str]:
    """Make ids unique by numbering repeats (``x``, ``x-2``, ``x-3``) in input order."""
    taken: set[str] = set()
    result = []
    for base in bases:
        candidate, number = base, 1
        while candidate in taken:
            number += 1
            candidate = f"{base}-{number}"
        taken.add(candidate)
        result.append(candidate)
    return result


def humanise_intent(intent: str) -> str:
    """``card_arrival`` -> ``Card arrival``, ``AddToPlaylist`` -> ``Add to playlist``.

    For ``domain/action`` labels the action usually names the intent (``alarm/set_alarm``);
    a one-word action (``weather/find``) keeps its domain to stay meaningful.
    """
    domain, _, action = intent.rpartition("/")
    name = action if "_" in action or not domain else f"{domain} {action}"
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    words = [word.lower() for word in re.split(r"[\s_?]+", name) if word]
    words = [_ACRONYMS.get(word, word) for word in words] or ["intent"]
    first = words[0]
    words[0] = first if first.isupper() else first[0].upper() + first[1:]
    return " ".join(words)


def dedupe(texts: Iterable[str]) -> list[str]:
    """Distinct texts by :func:`text_key`, first spelling and order kept, blanks dropped."""
    seen: set[str] = set()
    result = []
    for text in texts:
        key = text_key(text)
        if key and key not in seen:
            seen.add(key)
            result.append(text)
    return result


def shuffled(items: Sequence[T], key: str) -> list[T]:
    """A copy of ``items`` in an order fixed by ``SEED`` and ``key``.

    Seeding per key (e.g. per intent) keeps one intent's split stable when another changes.
    """
    result = list(items)
    random.Random(f"{SEED}:{key}").shuffle(result)
    return result


def subsample(items: Sequence[T], size: int, key: str) -> list[T]:
    """At most ``size`` items, a fixed random choice, in their original order."""
    if len(items) <= size:
        return list(items)
    chosen = set(random.Random(f"{SEED}:{key}").sample(range(len(items)), size))
    return [item for index, item in enumerate(items) if index in chosen]


def remove_leaks(questions: Iterable[Question], seen: set[str]) -> tuple[list[Question], int]:
    """Drop questions whose text is in ``seen`` (and add the kept ones to it).

    Called with the keys of all titles and alternate questions, then once per split in
    order, it removes look-up questions, duplicates inside a file and overlap between
    validation and test. Returns the kept questions and how many were dropped.
    """
    kept, dropped = [], 0
    for question in questions:
        key = text_key(question.question)
        if not key or key in seen:
            dropped += 1
            continue
        seen.add(key)
        kept.append(question)
    return kept, dropped


def known_keys(articles: Iterable[Article]) -> set[str]:
    """Keys of every title and alternate question of ``articles``."""
    keys: set[str] = set()
    for article in articles:
        keys.add(text_key(article.title))
        keys.update(text_key(question) for question in article.questions)
    return keys


# --------------------------------------------------------------------------- writing


def yaml_string(value: str) -> str:
    """A YAML scalar for any string: a JSON string is a valid double-quoted YAML scalar."""
    return json.dumps(value, ensure_ascii=False)


def render_article(article: Article) -> str:
    """The Markdown file of ``article``: front matter, one H1 equal to the title, the body."""
    lines = [
        "---",
        f"id: {yaml_string(article.id)}",
        f"title: {yaml_string(article.title)}",
        f"lang: {yaml_string(article.lang)}",
    ]
    if article.group:
        lines.append(f"group: {yaml_string(article.group)}")
    if article.url:
        lines.append(f"url: {yaml_string(article.url)}")
    if article.questions:
        lines.append("questions:")
        lines.extend(f"  - {yaml_string(question)}" for question in article.questions)
    lines += ["---", f"# {article.title}", "", article.body, ""]
    return "\n".join(lines)


def check_ids(articles: Sequence[Article]) -> None:
    """Refuse duplicate or path-unsafe ids: either would silently lose or misplace articles."""
    seen: set[str] = set()
    for article in articles:
        if not _SAFE_ID.match(article.id):
            raise ValueError(f"article id {article.id!r} is not path-safe")
        if article.id in seen:
            raise ValueError(f"article id {article.id!r} is used twice")
        seen.add(article.id)


def write_kb(kb_dir: Path, articles: Sequence[Article]) -> None:
    """Replace ``kb_dir`` with one ``<lang>/<id>.md`` per article.

    The folder is emptied first so an article dropped by a new build cannot linger.
    """
    check_ids(articles)
    if kb_dir.exists():
        shutil.rmtree(kb_dir)
    for article in articles:
        path = kb_dir / article.lang / f"{article.id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_article(article), encoding="utf-8")


def write_questions(path: Path, questions: Iterable[Question]) -> None:
    """Write a ``question,expected,lang`` file (UTF-8, RFC 4180 quoting)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(QUESTION_FIELDS)
        writer.writerows((q.question, q.expected, q.lang) for q in questions)


def read_questions(path: Path) -> list[Question]:
    """Read a question file written by :func:`write_questions`."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Question(row["question"], row["expected"], row["lang"])
            for row in csv.DictReader(handle)
        ]


def count_questions(questions: Sequence[Question]) -> tuple[int, int]:
    """(in-scope, out-of-scope) counts of a question list."""
    oos = sum(1 for question in questions if not question.expected)
    return len(questions) - oos, oos


def write_set(
    out: Path,
    name: str,
    articles: Sequence[Article],
    splits: Mapping[str, Sequence[Question]],
    notes: dict[str, int] | None = None,
) -> BuiltSet:
    """Write the knowledge base and question files of one set and return its counts."""
    directory = out / name
    write_kb(directory / "kb", articles)
    ids = {article.id for article in articles}
    counts: dict[str, int] = {}
    for split, questions in splits.items():
        unknown = {q.expected for q in questions if q.expected and q.expected not in ids}
        if unknown:
            raise ValueError(f"{name}/{split}: expected ids without article: {sorted(unknown)}")
        write_questions(directory / f"{split}.csv", questions)
        counts[split], counts[f"{split}_oos"] = count_questions(questions)
    return BuiltSet(name, directory, len(articles), counts, dict(notes or {}))


# --------------------------------------------------------------------------- reading


def read_table(path: Path, required: Sequence[str], delimiter: str = ",") -> list[dict[str, str]]:
    """Rows of a CSV/TSV file; fails naming the file when a needed column is missing."""
    csv.field_size_limit(2**31 - 1)  # COVID-QA answers hold whole web pages of HTML
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; found {reader.fieldnames}")
        return [{key: value or "" for key, value in row.items() if key} for row in reader]


def read_lines(path: Path) -> list[str]:
    """Lines of a text file without their line ends."""
    return path.read_text(encoding="utf-8").splitlines()


def read_seq_dir(directory: Path) -> tuple[list[tuple[str, str]], int]:
    """(question, label) pairs of a ``seq.in``/``label`` folder, and how many were blank.

    BANKING77-OOS has a few blank question lines (a label but no text); they cannot be
    asked, so they are skipped and counted.
    """
    texts, labels = read_lines(directory / "seq.in"), read_lines(directory / "label")
    if len(texts) != len(labels):
        raise ValueError(f"{directory}: {len(texts)} questions but {len(labels)} labels")
    pairs = [(clean_text(text), label.strip()) for text, label in zip(texts, labels, strict=True)]
    kept = [(text, label) for text, label in pairs if text]
    return kept, len(pairs) - len(kept)


_CONLL_COMMENT = re.compile(r"^#\s*([\w-]+)\s*=\s*(.*)$")


def read_conll_comments(path: Path) -> list[dict[str, str]]:
    """The ``# key = value`` comments of each sentence block of a CoNLL file."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in read_lines(path):
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
            continue
        match = _CONLL_COMMENT.match(line)
        if match:
            current[match.group(1)] = match.group(2)
    if current:
        blocks.append(current)
    return blocks


# --------------------------------------------------------------------------- intent sets


def intent_id(intent: str) -> str:
    """Article id of an intent label: ``reverted_card_payment?`` -> ``reverted-card-payment``,
    ``AddToPlaylist`` -> ``add-to-playlist``."""
    return slugify(re.sub(r"(?<=[a-z])(?=[A-Z])", "-", intent))


def intent_article(
    intent: str, questions: Sequence[str], lang: str = "en", title: str | None = None
) -> Article:
    """An FAQ-style article standing for one intent, its examples as alternate questions."""
    title = title or humanise_intent(intent)
    body = _INTENT_BODY.get(lang, _INTENT_BODY["en"]).format(title=title)
    return Article(
        id=intent_id(intent),
        title=title,
        lang=lang,
        body=body,
        questions=tuple(dedupe(questions)),
        group=intent_id(intent),
    )


def group_by_label(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """label -> distinct texts (first spelling kept), labels in first-seen order."""
    grouped: dict[str, list[str]] = {}
    for text, label in pairs:
        grouped.setdefault(label, []).append(text)
    return {label: dedupe(texts) for label, texts in grouped.items()}


def hold_out(
    texts: Sequence[str], size: int, key: str, protected: frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """Split ``texts`` into (kept, held out): at most ``size`` and at most half held out.

    Texts whose key is ``protected`` are never held out; BANKING77 protects the test
    questions, so tuning on validation never sees a test question.
    """
    candidates = [i for i, text in enumerate(texts) if text_key(text) not in protected]
    size = min(size, len(texts) // 2, len(candidates))
    held = set(shuffled(candidates, key)[:size])
    kept = [text for index, text in enumerate(texts) if index not in held]
    return kept, [text for index, text in enumerate(texts) if index in held]


def read_labelled_csv(path: Path) -> list[tuple[str, str]]:
    """(text, category) rows of a BANKING77 CSV, cleaned, blank texts skipped."""
    rows = read_table(path, ("text", "category"))
    pairs = [(clean_text(row["text"]), row["category"].strip()) for row in rows]
    return [(text, label) for text, label in pairs if text]


def build_banking77(
    src: Path, out: Path, valid_per_intent: int = BANKING77_VALID_PER_INTENT
) -> list[BuiltSet]:
    """BANKING77: one article per intent from ``train.csv``, ``valid_per_intent`` questions of
    each intent held out as ``valid.csv`` (not among the alternates), ``test.csv`` as published
    (a few test questions are also training questions; they stay, and are counted).
    """
    by_intent = group_by_label(read_labelled_csv(src / "train.csv"))
    test_pairs = read_labelled_csv(src / "test.csv")
    unknown = {label for _, label in test_pairs if label not in by_intent}
    if unknown:
        raise ValueError(f"{src / 'test.csv'}: intents not in train.csv: {sorted(unknown)}")
    test = [Question(text, intent_id(label), "en") for text, label in test_pairs]
    test_keys = frozenset(text_key(q.question) for q in test)
    articles: list[Article] = []
    valid: list[Question] = []
    for intent in sorted(by_intent):
        kept, held = hold_out(by_intent[intent], valid_per_intent, f"banking77:{intent}", test_keys)
        articles.append(intent_article(intent, kept))
        valid.extend(Question(text, intent_id(intent), "en") for text in held)
    kb_keys = known_keys(articles)
    valid, dropped = remove_leaks(valid, kb_keys | test_keys)
    notes = {
        "valid_dropped_as_duplicates": dropped,
        "test_also_in_train": sum(1 for q in test if text_key(q.question) in kb_keys),
    }
    return [write_set(out, "banking77", articles, {"valid": valid, "test": test}, notes)]


def read_oos_split(
    src: Path, split: str, ids: set[str], kb_keys: set[str], notes: dict[str, int]
) -> list[Question]:
    """In-scope and out-of-scope questions of one published BANKING77-OOS split.

    An out-of-scope question identical to an alternate question is unanswerable either
    way (the published test has two, label noise in BANKING77: "is there a limit on top
    ups" is a ``wrong_amount_of_cash_received`` training example); it is dropped and counted.
    """
    in_scope, blank_in = read_seq_dir(src / split)
    oos, blank_oos = read_seq_dir(src / "id-oos" / split)
    unknown = {label for _, label in in_scope if intent_id(label) not in ids}
    if unknown:
        raise ValueError(f"{src / split}: intents without article: {sorted(unknown)}")
    oos_questions = [Question(text, "", "en") for text, _ in oos]
    kept_oos = [q for q in oos_questions if text_key(q.question) not in kb_keys]
    notes["blank_lines_skipped"] += blank_in + blank_oos
    notes["oos_equal_to_alternate"] += len(oos_questions) - len(kept_oos)
    return [Question(text, intent_id(label), "en") for text, label in in_scope] + kept_oos


def build_banking77_oos(src: Path, out: Path) -> list[BuiltSet]:
    """BANKING77-OOS: the 50 in-scope intents of ``train/`` as articles; ``valid.csv`` and
    ``test.csv`` are the published in-scope splits plus ``id-oos/{valid,test}`` with an empty
    ``expected``. ``id-oos/train`` is not used: nothing about those intents may reach the KB.

    The published validation and test splits share a few questions; those (and repeats
    inside validation) leave ``valid.csv`` so that tuning never sees a test question. The
    test file stays as published.
    """
    train, blank = read_seq_dir(src / "train")
    articles = [intent_article(i, texts) for i, texts in sorted(group_by_label(train).items())]
    ids, kb_keys = {a.id for a in articles}, known_keys(articles)
    notes = {"blank_lines_skipped": blank, "oos_equal_to_alternate": 0}
    test = read_oos_split(src, "test", ids, kb_keys, notes)
    valid = read_oos_split(src, "valid", ids, kb_keys, notes)
    valid, notes["valid_dropped_as_in_test"] = remove_leaks(
        valid, {text_key(q.question) for q in test}
    )
    return [write_set(out, "banking77-oos", articles, {"valid": valid, "test": test}, notes)]


# --------------------------------------------------------------------------- xSID


class XsidSentence(NamedTuple):
    """One xSID sentence in one language; ``position`` aligns the language versions."""

    position: int
    text: str
    intent: str


def read_xsid(path: Path) -> list[XsidSentence]:
    """The sentences of one ``<lang>.valid.conll`` file, in file order."""
    sentences = []
    for index, block in enumerate(read_conll_comments(path)):
        if "text" not in block or "intent" not in block:
            raise ValueError(f"{path}: sentence {index + 1} lacks '# text =' or '# intent ='")
        sentences.append(XsidSentence(index, clean_text(block["text"]), block["intent"].strip()))
    return sentences


def check_aligned(by_lang: dict[str, list[XsidSentence]], reference: str = "en") -> None:
    """Refuse language files whose sentences do not line up: the cross-lingual set and the
    shared split both rely on sentence *i* meaning the same in every language."""
    base = by_lang[reference]
    for lang, sentences in by_lang.items():
        if [s.intent for s in sentences] != [s.intent for s in base]:
            raise ValueError(f"xSID {lang}: sentences or intents do not line up with {reference}")


def assign_xsid_splits(sentences: Sequence[XsidSentence]) -> dict[int, str]:
    """Sentence index -> ``kb``, ``valid`` or ``test``, decided once on the English text.

    Per intent the distinct English sentences (repeats stay together, so a repeated sentence
    cannot be both an alternate and a question) are shuffled; ``XSID_KB_SHARE`` of them
    (rounded up) become alternate questions, the rest is halved into validation and test.
    Intents with fewer than ``XSID_MIN_SENTENCES`` distinct sentences (in xSID-0.7:
    ``alarm/modify_alarm`` with 1 and ``alarm/snooze_alarm`` with 2) are too small to both
    teach and test: all their sentences become alternates, so the article still competes as
    a distractor, but none is asked.
    """
    units: dict[str, dict[str, list[int]]] = {}
    for sentence in sentences:
        units.setdefault(sentence.intent, {}).setdefault(text_key(sentence.text), []).append(
            sentence.position
        )
    assignment: dict[int, str] = {}
    for intent, groups in sorted(units.items()):
        order = shuffled(list(groups.values()), f"xsid:{intent}")
        n_kb = len(order)
        if len(order) >= XSID_MIN_SENTENCES:
            n_kb = math.ceil(len(order) * XSID_KB_SHARE)
        n_valid = (len(order) - n_kb) // 2
        for position, indexes in enumerate(order):
            split = "kb" if position < n_kb else "valid" if position < n_kb + n_valid else "test"
            assignment.update((index, split) for index in indexes)
    return assignment


def xsid_title(intent: str, lang: str) -> str:
    """The article title of an intent in ``lang`` (humanised label when not translated)."""
    return XSID_TITLES.get(intent, {}).get(lang) or humanise_intent(intent)


def xsid_articles(
    sentences: Sequence[XsidSentence], assignment: dict[int, str], lang: str
) -> list[Article]:
    """One ``lang`` article per intent, its ``kb`` sentences as alternate questions."""
    alternates: dict[str, list[str]] = {}
    for sentence in sentences:
        texts = alternates.setdefault(sentence.intent, [])
        if assignment[sentence.position] == "kb":
            texts.append(sentence.text)
    return [
        intent_article(intent, texts, lang, xsid_title(intent, lang))
        for intent, texts in sorted(alternates.items())
    ]


def xsid_questions(
    sentences: Sequence[XsidSentence], assignment: dict[int, str], split: str, *, lang: str
) -> list[Question]:
    """The ``split`` sentences of one language as questions expecting their intent's article."""
    return [
        Question(s.text, intent_id(s.intent), lang)
        for s in sentences
        if assignment[s.position] == split
    ]


def xsid_set(
    out: Path,
    name: str,
    articles: list[Article],
    questions: Callable[[str], list[Question]],
) -> BuiltSet:
    """Write one xSID set, removing questions that equal an alternate or an earlier question.

    Repeats are grouped on the English text, but two different English sentences can share
    one German or Danish translation; this catches those.
    """
    seen = known_keys(articles)
    valid, dropped_valid = remove_leaks(questions("valid"), seen)
    test, dropped_test = remove_leaks(questions("test"), seen)
    notes = {"questions_dropped_as_duplicates": dropped_valid + dropped_test}
    return write_set(out, name, articles, {"valid": valid, "test": test}, notes)


def build_xsid(src: Path, out: Path) -> list[BuiltSet]:
    """xSID: ``xsid-en``, ``xsid-de``, ``xsid-da`` (each a KB in its language, questions in
    the same language) and ``xsid-cross`` (the English KB, German and Danish questions that
    expect the English article). All four use one split, made on the English sentences, so
    no translation of a question is ever an alternate question of the cross-lingual KB.
    """
    by_lang = {lang: read_xsid(src / f"{lang}.valid.conll") for lang in XSID_LANGUAGES}
    check_aligned(by_lang)
    assignment = assign_xsid_splits(by_lang["en"])
    built = []
    for lang, sentences in by_lang.items():
        articles = xsid_articles(sentences, assignment, lang)
        questions = functools.partial(xsid_questions, sentences, assignment, lang=lang)
        built.append(xsid_set(out, f"xsid-{lang}", articles, questions))

    def cross_questions(split: str) -> list[Question]:
        return [
            question
            for lang in XSID_CROSS_LANGUAGES
            for question in xsid_questions(by_lang[lang], assignment, split, lang=lang)
        ]

    english = xsid_articles(by_lang["en"], assignment, "en")
    built.append(xsid_set(out, "xsid-cross", english, cross_questions))
    return built


# --------------------------------------------------------------------------- COVID-QA


def faq_key(question: str) -> str:
    """:func:`text_key` without spaces: the CDC asks "How can I prepare in case my child's
    school, childcare facility, ..." on one page and "child care facility" on another, and a
    paraphrase of either expects that one question's article."""
    return text_key(question).replace(" ", "")


def covid_body(rows: Sequence[dict[str, str]]) -> str:
    """The article body of one FAQ question: its answer, or one section per source when
    several sources answer the same question differently (nothing is thrown away)."""
    answers: dict[str, str] = {}
    for row in rows:
        answers.setdefault(clean_body(row["answer"]), clean_text(row.get("source", "")))
    if len(answers) == 1:
        return next(iter(answers))
    sections = [
        f"## {source or f'Answer {number}'}\n\n{answer}"
        for number, (answer, source) in enumerate(answers.items(), start=1)
    ]
    return "\n\n".join(sections)


def covid_articles(
    rows: Sequence[dict[str, str]], languages: Sequence[str]
) -> tuple[list[Article], dict[tuple[str, str], str], int]:
    """Articles of the FAQ rows in ``languages``, a (lang, question key) -> id map, and how
    many rows were merged into an earlier one.

    Some FAQ questions occur in several rows (other sources, same wording). Separate
    articles with one title would make the expected answer of a paraphrase ambiguous, so
    rows with the same question (by :func:`faq_key`) become one article.
    """
    grouped: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        lang = row["lang"].strip()
        if lang in languages and clean_text(row["question"]) and clean_text(row["answer"]):
            grouped.setdefault((lang, faq_key(row["question"])), []).append(row)
    keys = list(grouped)
    ids = unique_ids(f"{lang}-{slugify(grouped[(lang, k)][0]['question'])}" for lang, k in keys)
    articles = [
        Article(
            id=article_id,
            title=clean_text(grouped[key][0]["question"]),
            lang=key[0],
            body=covid_body(grouped[key]),
            url=clean_text(grouped[key][0].get("link", "")),
        )
        for key, article_id in zip(keys, ids, strict=True)
    ]
    merged = sum(len(group) - 1 for group in grouped.values())
    return articles, dict(zip(keys, ids, strict=True)), merged


def covid_pair_questions(
    pairs: Sequence[dict[str, str]], ids: dict[tuple[str, str], str], lang: str
) -> tuple[list[Question], int]:
    """Questions from the ``similar == 1`` pairs: ask ``question_2``, expect the article of
    ``question_1``. Pairs whose ``question_1`` is no FAQ question of ``lang`` are skipped
    and counted. ``similar == 0`` rows pair a question with an unrelated FAQ; they are not
    out-of-scope questions (the asked question has its own article) and are not used.
    """
    questions, skipped = [], 0
    for pair in pairs:
        if pair["similar"].strip() != "1":
            continue
        article_id = ids.get((lang, faq_key(pair["question_1"])))
        if article_id is None:
            skipped += 1
            continue
        questions.append(Question(clean_text(pair["question_2"]), article_id, lang))
    return questions, skipped


def split_half(questions: Sequence[T], key: str) -> tuple[list[T], list[T]]:
    """A fixed random half (rounded down) for validation, the rest for test, order kept."""
    order = shuffled(range(len(questions)), key)
    valid = set(order[: len(questions) // 2])
    return (
        [q for index, q in enumerate(questions) if index in valid],
        [q for index, q in enumerate(questions) if index not in valid],
    )


def build_covid_qa(src: Path, out: Path) -> list[BuiltSet]:
    """COVID-QA: one article per German and English FAQ question of ``faq_200327.tsv``
    (question as title, answer as body, the row's lang and link), and the paraphrases of
    ``eval_question_similarity_{de,en}.csv`` halved per language into validation and test.

    A paraphrase asked for two different FAQ questions (e.g. the same FAQ by two agencies)
    is kept once, with the first pair's article, since a question file holds one expected id.
    """
    rows = read_table(src / "faq_200327.tsv", ("question", "answer", "link", "lang"), "\t")
    articles, ids, merged = covid_articles(rows, COVID_LANGUAGES)
    seen = known_keys(articles)
    splits: dict[str, list[Question]] = {"valid": [], "test": []}
    notes = {"faq_rows_merged": merged}
    for lang in COVID_LANGUAGES:
        table = src / f"eval_question_similarity_{lang}.csv"
        pairs = read_table(table, ("question_1", "question_2", "similar"))
        questions, skipped = covid_pair_questions(pairs, ids, lang)
        questions, dropped = remove_leaks(questions, seen)
        valid, test = split_half(questions, f"covid-qa:{lang}")
        splits["valid"] += valid
        splits["test"] += test
        notes[f"pairs_without_article_{lang}"] = skipped
        notes[f"pairs_dropped_as_duplicates_{lang}"] = dropped
    return [write_set(out, "covid-qa", articles, splits, notes)]


# --------------------------------------------------------------------------- registry


class Adapter(NamedTuple):
    """One data folder, the sets built from it, and the function that builds them."""

    source: str
    sets: tuple[str, ...]
    build: Callable[[Path, Path], list[BuiltSet]]


ADAPTERS: dict[str, Adapter] = {
    "banking77": Adapter("banking77", ("banking77",), build_banking77),
    "banking77-oos": Adapter("banking77-oos", ("banking77-oos",), build_banking77_oos),
    "xsid": Adapter("xsid-valid", ("xsid-en", "xsid-de", "xsid-da", "xsid-cross"), build_xsid),
    "covid-qa": Adapter("covid-qa", ("covid-qa",), build_covid_qa),
}


def build_all(data_dir: Path, out: Path, names: Iterable[str] | None = None) -> list[BuiltSet]:
    """Run the adapters ``names`` (default: all) on ``data_dir``, writing under ``out``."""
    built = []
    for name in names or ADAPTERS:
        adapter = ADAPTERS[name]
        built.extend(adapter.build(data_dir / adapter.source, out))
    return built
