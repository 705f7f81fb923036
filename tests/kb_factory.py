"""A tiny knowledge base written on the fly, for tests that change it or need it small."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests import factories

TINY_ARTICLES: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    # lang, slug (also the group), title, body, alternate questions
    ("en", "returns", "Returning an item",
     "You can return unworn items within 30 days. The return label is free.",
     ("How do I send something back?", "Can I return my jacket?")),
    ("de", "returns", "Artikel zurücksenden",
     "Sie können ungetragene Artikel innerhalb von 30 Tagen zurücksenden. Das Etikett ist "
     "kostenlos.", ("Wie schicke ich etwas zurück?", "Kann ich meine Jacke zurückgeben?")),
    ("en", "tracking", "Tracking your parcel",
     "Your tracking link arrives by email once the parcel ships. Parcels take two days.",
     ("Where is my parcel?", "How do I track my order?")),
    ("de", "tracking", "Sendungsverfolgung",
     "Den Link zur Sendungsverfolgung bekommen Sie per E-Mail, sobald das Paket unterwegs ist.",
     ("Wo ist mein Paket?", "Wie verfolge ich meine Bestellung?")),
    ("en", "payment", "Payment methods",
     "We accept credit cards, PayPal and invoice. Amex is accepted as well.",
     ("Which payment methods do you accept?", "Can I pay with PayPal?")),
    ("en", "stores", "Store opening hours",
     "Our store in Flensburg opens Monday to Saturday from 10 to 19.",
     ("When is the store open?", "Opening hours of the shop")),
]


def write_article(kb_dir: Path, lang: str, slug: str, title: str, body: str,
                  questions: Sequence[str] = ()) -> Path:
    """One Markdown article in `kb_dir/<lang>/<slug>.md`; the slug is also its group."""
    fields: dict[str, Any] = {"title": title, "lang": lang, "group": slug,
                              "url": f"https://shop.example/{lang}/help/{slug}"}
    if questions:
        fields["questions"] = list(questions)
    return factories.write_article(kb_dir, f"{lang}/{slug}.md", body=f"# {title}\n\n{body}\n",
                                   **fields)


def write_tiny_kb(kb_dir: Path) -> Path:
    for lang, slug, title, body, questions in TINY_ARTICLES:
        write_article(kb_dir, lang, slug, title, body, questions)
    return kb_dir
