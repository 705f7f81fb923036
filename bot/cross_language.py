"""Ranking a topic that has no version in the conversation's language fairly against those
that do.

Two things put such a topic at a disadvantage that has nothing to do with how well it answers:

- **The model's language gap.** multilingual-e5-small scores a Danish question a little higher
  against Danish text than against the same text in English or German. The gap is measured
  per question on the topics that come up in both languages (the same topic, its version in
  the question's language against its best other version) and added to the topics that exist
  only in other languages.
- **The words.** The lexical index of the conversation's language does not hold the topic at
  all. Its versions are matched word for word in their own language instead (names, numbers
  and loanwords carry over: "Fjeld Club", "Schweiz", "DHL").

Nothing changes for a knowledge base whose topics all exist in every language: no topic is
`untranslated` (`ingest.documents`). `benchmarks.missing_translations` measures both.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence


def language_gap(
    dense: Mapping[int, float],
    lang: str,
    article_lang: Sequence[str],
    article_group: Sequence[str],
) -> float:
    """How much higher this question scores a topic's version in `lang` than its best version
    in another language: the median over the topics among `dense` (article row -> score) that
    came up in both; 0 when none did or the model shows no gap."""
    own: dict[str, float] = {}
    other: dict[str, float] = {}
    for row, score in dense.items():
        side = own if article_lang[row] == lang else other
        group = article_group[row]
        side[group] = max(score, side.get(group, score))
    gaps = [own[g] - other[g] for g in own.keys() & other.keys()]
    return max(0.0, statistics.median(gaps)) if gaps else 0.0
