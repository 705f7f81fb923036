"""Reading each knowledge-base format into articles: Markdown with and without front matter,
HTML pages and FAQ tables (CSV/TSV)."""

from __future__ import annotations

from pathlib import Path

from ingest.documents import Article
from ingest.load import discover, load_knowledge_base
from tests.factories import write_article, write_faq, write_text

LANGUAGES = ("en", "de", "da")


def load(kb: Path) -> dict[str, Article]:
    articles = load_knowledge_base(kb, languages=LANGUAGES, default_language="en")
    return {article.id: article for article in articles}


def test_markdown_front_matter_sets_every_field(tmp_path: Path) -> None:
    write_article(
        tmp_path,
        "en/returns.md",
        id="returns-policy",
        title="Returning an item",
        lang="de",
        url="https://shop.example/help/returns",
        group="returns",
        tags=["returns", "label"],
        questions=["How do I send something back?", "Is the return free?"],
        body="# Returning an item\n\nYou can return items within 30 days.\n",
    )

    article = load(tmp_path)["returns-policy"]

    assert article.title == "Returning an item"
    assert article.lang == "de"  # front matter beats the folder
    assert article.url == "https://shop.example/help/returns"
    assert article.group_id == "returns"
    assert article.tags == ("returns", "label")
    assert article.questions == ("How do I send something back?", "Is the return free?")
    assert article.body == "# Returning an item\n\nYou can return items within 30 days."
    assert article.source == "en/returns.md"


def test_markdown_without_front_matter_takes_title_from_h1_and_lang_from_folder(
    tmp_path: Path,
) -> None:
    write_article(tmp_path, "de/konto/passwort.md", body="# Passwort vergessen\n\nSo geht es.\n")

    article = load(tmp_path)["de/konto/passwort"]

    assert article.title == "Passwort vergessen"
    assert article.lang == "de"
    assert article.url is None
    assert article.group_id == "de/konto/passwort"  # stands alone without a group
    assert article.questions == ()


def test_markdown_outside_a_language_folder_gets_the_default_language(tmp_path: Path) -> None:
    write_article(tmp_path, "shipping.md", body="# Shipping\n\nWe ship daily.\n")

    assert load(tmp_path)["shipping"].lang == "en"


def test_html_page_reads_title_lang_and_kb_metas_and_drops_scripts_and_nav(
    tmp_path: Path,
) -> None:
    write_text(
        tmp_path,
        "stores.html",
        """<!doctype html>
<html lang="da-DK">
<head>
  <title>Butikker og åbningstider</title>
  <meta name="kb:id" content="stores-da">
  <meta name="kb:group" content="stores">
  <meta name="kb:url" content="https://shop.example/da/stores">
  <meta name="kb:questions" content="Hvornår har I åbent? | Hvor ligger butikken?">
  <meta name="kb:tags" content="butikker, åbningstider">
  <script>var tracking = "do-not-index";</script>
  <style>body { color: red }</style>
</head>
<body>
<nav>Forside Menu Kurv</nav>
<h1>Butikker og åbningstider</h1>
<p>Vi har fire butikker &amp; en webshop.</p>
<h2>Åbningstider</h2>
<ul><li>Mandag: 10-19</li><li>Søndag: lukket</li></ul>
<script>alert("nope")</script>
<footer>Copyright</footer>
</body>
</html>""",
    )

    article = load(tmp_path)["stores-da"]

    assert article.title == "Butikker og åbningstider"
    assert article.lang == "da"
    assert article.group_id == "stores"
    assert article.url == "https://shop.example/da/stores"
    assert article.questions == ("Hvornår har I åbent?", "Hvor ligger butikken?")
    assert article.tags == ("butikker", "åbningstider")
    assert "Vi har fire butikker & en webshop." in article.body
    assert "## Åbningstider" in article.body
    assert "- Mandag: 10-19" in article.body
    for dropped in ("tracking", "alert", "Menu", "Copyright", "color"):
        assert dropped not in article.body


def test_html_without_title_element_uses_its_h1(tmp_path: Path) -> None:
    write_text(tmp_path, "en/care.htm", "<html><body><h1>Caring for boots</h1><p>Wax.</p></body>")

    article = load(tmp_path)["en/care"]

    assert article.title == "Caring for boots"
    assert article.lang == "en"


def test_faq_csv_gives_one_article_per_row_with_optional_columns(tmp_path: Path) -> None:
    write_faq(
        tmp_path,
        "faq.csv",
        [
            {
                "question": "Do you offer gift wrapping?",
                "answer": "Yes, for EUR 3.50, chosen at the checkout.",
                "url": "https://shop.example/help/gift",
                "lang": "en",
                "id": "gift-wrapping-en",
                "group": "gift-wrapping",
                "questions": "Can you wrap my order? | Can I add a gift message?",
            },
            {
                "question": "Bieten Sie Ratenzahlung an?",
                "answer": "Nein, leider nicht.",
                "url": "",
                "lang": "de",
                "id": "",
                "group": "",
                "questions": "",
            },
        ],
    )

    articles = load(tmp_path)

    gift = articles["gift-wrapping-en"]
    assert gift.title == "Do you offer gift wrapping?"
    assert gift.body == "Yes, for EUR 3.50, chosen at the checkout."
    assert gift.url == "https://shop.example/help/gift"
    assert gift.group_id == "gift-wrapping"
    assert gift.questions == ("Can you wrap my order?", "Can I add a gift message?")
    assert gift.source == "faq.csv"
    instalments = articles["faq/bieten-sie-ratenzahlung-an"]  # id made from the question
    assert instalments.lang == "de"
    assert instalments.url is None
    assert instalments.questions == ()


def test_faq_tsv_with_only_the_required_columns(tmp_path: Path) -> None:
    write_faq(
        tmp_path,
        "da/faq.tsv",
        [
            {"question": "Kan jeg betale med MobilePay?", "answer": "Ja, i hele Danmark."},
            {"question": "Sender I til Grønland?", "answer": "Nej, desværre ikke."},
        ],
    )

    articles = load(tmp_path)

    assert sorted(articles) == [
        "da/faq/kan-jeg-betale-med-mobilepay",
        "da/faq/sender-i-til-gr-nland",
    ]
    assert {a.lang for a in articles.values()} == {"da"}  # the folder's language
    assert articles["da/faq/kan-jeg-betale-med-mobilepay"].body == "Ja, i hele Danmark."


def test_faq_cell_spanning_lines_keeps_its_line_breaks(tmp_path: Path) -> None:
    write_text(tmp_path, "faq.csv", 'question,answer\nHow?,"First this.\nThen that."\n')

    assert load(tmp_path)["faq/how"].body == "First this.\nThen that."


def test_discover_skips_drafts_hidden_files_readme_and_other_formats(tmp_path: Path) -> None:
    write_article(tmp_path, "en/a.md", title="A")
    write_article(tmp_path, "en/_draft.md", title="Draft")
    write_article(tmp_path, "_notes/b.md", title="Notes")
    write_article(tmp_path, ".git/c.md", title="Hidden")
    write_text(tmp_path, "README.md", "# About this folder\n")
    write_text(tmp_path, "en/logo.png", b"\x89PNG")

    files, skipped = discover(tmp_path)

    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["en/a.md"]
    assert [p.relative_to(tmp_path).as_posix() for p in skipped] == ["README.md", "en/logo.png"]
