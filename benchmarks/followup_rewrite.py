"""Which rewriting of a follow-up retrieves better: the previous question followed by the
message (what the bot does), or the previous question with its closest word swapped for the
follow-up's own ("how long does delivery to Germany take" + "and to Denmark?" → "how long
does delivery to denmark take").

    python -m benchmarks.followup_rewrite --index-dir var/index \
        [--conversations benchmarks/questions/multi-turn.csv]

For every turn after the first of each conversation it runs retrieval and the policy on the
bare message and on each rewriting, and counts the turns where the outcome is right (the
expected article answered, or a handoff where none is expected): always rewritten, and
rewritten only when `bot.followup.prefer_rewrite` picks it. The swap uses the embedding model's
similarity between single words (at least 0.45), and falls back to concatenation when no word
is close. Prints a Markdown table. Run it on an index built with the real model.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
from pathlib import Path

import numpy as np

from bot.followup import follow_up, keep_unknown_words, prefer_rewrite, split_connective, words
from bot.policy import Decision, decide
from bot.retrieval import Retrieval
from bot.serving import Serving
from ingest.embed import make_embedder
from ingest.store import load_version

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONVERSATIONS = PROJECT_ROOT / "benchmarks" / "questions" / "multi-turn.csv"
LANGUAGES = ("en", "de", "da")
SWAP_SIMILARITY = 0.45
STRATEGIES = ("concatenate", "swap the closest word")


class Bench:
    def __init__(self, index_dir: Path):
        version = load_version(index_dir)
        self.embedder = make_embedder(version.model, threads=1)
        self.serving = Serving.load(
            version, self.embedder, languages=LANGUAGES, default_language="en"
        )
        self.retriever = self.serving.retriever

    def search(self, text: str, lang: str) -> tuple[Retrieval, Decision]:
        retrieval = self.retriever.search(text, lang_hint=lang)
        return retrieval, self._decide(retrieval)

    def _decide(self, retrieval: Retrieval) -> Decision:
        scores = [c.score for c in retrieval.candidates]
        return decide(retrieval.features, scores=scores, misses=0, policy=self.serving.policy)

    def rewritten(self, query: str, lang: str, bare: Retrieval) -> tuple[Retrieval, Decision]:
        retrieval = self.retriever.search(query, lang_hint=lang)
        features = keep_unknown_words(bare.features, retrieval.features)
        retrieval = dataclasses.replace(retrieval, features=features)
        return retrieval, self._decide(retrieval)

    def swap(self, previous: str, text: str, lang: str) -> str | None:
        """`previous` with the word closest to each of the follow-up's known words replaced."""
        lexical = self.retriever.index.lexical.get(lang)
        _, rest = split_connective(text)
        own = [w for w in rest if lexical is not None and lexical.query_tokens(w)[0]]
        before = words(previous)
        if not own or not before:
            return None
        vectors = self.embedder.embed_queries(own + before)
        own_vectors, before_vectors = vectors[: len(own)], vectors[len(own) :]
        swapped, changed = list(before), False
        for i, word in enumerate(own):
            sims = before_vectors @ own_vectors[i]
            j = int(np.argmax(sims))
            if sims[j] >= SWAP_SIMILARITY and before[j] != word:
                swapped[j], changed = word, True
        return " ".join(swapped) if changed else None

    def group(self, article_id: str) -> str:
        article = self.retriever.index.articles.get(article_id)
        return article.group_id if article else article_id


def right(retrieval: Retrieval, decision: Decision, expected: set[str]) -> bool:
    if not expected:
        return decision.action == "handoff"
    top = retrieval.top
    return decision.action == "answer" and top is not None and top.group in expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=PROJECT_ROOT / "var" / "index")
    parser.add_argument("--conversations", type=Path, default=DEFAULT_CONVERSATIONS)
    args = parser.parse_args()
    bench = Bench(args.index_dir)
    conversations: dict[str, list[dict[str, str]]] = {}
    with args.conversations.open(encoding="utf-8-sig", newline="") as file:
        for row in csv.DictReader(file):
            conversations.setdefault(row["conversation"], []).append(row)
    counts = {"each turn on its own": 0}
    counts.update({f"{s}, always": 0 for s in STRATEGIES})
    counts.update({f"{s}, when it retrieves better": 0 for s in STRATEGIES})
    n = 0
    for turns in conversations.values():
        previous = dict.fromkeys(STRATEGIES, turns[0]["question"])
        for turn in turns[1:]:
            lang, text = turn["lang"], turn["question"]
            expected = {bench.group(e) for e in turn["expected"].split("|") if e}
            bare, bare_decision = bench.search(text, lang)
            n += 1
            counts["each turn on its own"] += right(bare, bare_decision, expected)
            for strategy in STRATEGIES:
                follow = follow_up(text, previous[strategy])
                if follow is None:
                    chosen = always = (bare, bare_decision)
                    previous[strategy] = text
                else:
                    query = follow.query
                    if strategy == "swap the closest word":
                        query = bench.swap(previous[strategy], text, lang) or query
                    always = bench.rewritten(query, lang, bare)
                    use = prefer_rewrite(follow.cue, bare_decision, always[1])
                    chosen = always if use else (bare, bare_decision)
                    previous[strategy] = query if use else text
                counts[f"{strategy}, always"] += right(*always, expected)
                counts[f"{strategy}, when it retrieves better"] += right(*chosen, expected)
    print(f"Follow-up turns (turn 2 and later) with the right outcome, of {n}:\n")
    print("| rewriting | right | share |\n|---|---|---|")
    for name, count in counts.items():
        print(f"| {name} | {count} | {count / n:.1%} |")


if __name__ == "__main__":
    main()
