"""`supportbot eval --report DIR`: a Markdown page with a reliability diagram, a threshold
curve and the per-language table, for editors deciding whether the bot may answer more."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.evaluate import Outcome


def _points(outcomes: Sequence[Outcome]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    usable = [o for o in outcomes if o.confidence is not None and o.features]
    conf = np.asarray([o.confidence for o in usable], dtype=float)
    right = np.asarray([o.correct_top1 for o in usable], dtype=bool)
    in_scope = np.asarray([bool(o.expected) for o in usable], dtype=bool)
    return conf, right, in_scope


def reliability_plot(outcomes: Sequence[Outcome], path: Path, bins: int = 10) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf, right, _ = _points(outcomes)
    edges = np.linspace(0, 1, bins + 1)
    centres, rates, counts = [], [], []
    for lo, hi in itertools.pairwise(edges):
        inside = (conf >= lo) & ((conf < hi) | (hi == 1.0))
        if inside.any():
            centres.append(float(conf[inside].mean()))
            rates.append(float(right[inside].mean()))
            counts.append(int(inside.sum()))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.plot(centres, rates, marker="o", color="#1f5f4a", label="supportbot")
    for x, y, n in zip(centres, rates, counts, strict=True):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlabel("stated confidence")
    ax.set_ylabel("share where the top article was right")
    ax.set_title("Reliability")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def threshold_curve(
    outcomes: Sequence[Outcome], path: Path, chosen: float | None = None
) -> list[dict[str, float]]:
    """Answered-correct and wrong-answer shares as the answer threshold moves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf, right, in_scope = _points(outcomes)
    rows = []
    for t in np.linspace(0.05, 0.99, 48):
        answered = conf >= t
        rows.append(
            {
                "threshold": float(t),
                "answered_correct": float(
                    (answered & right & in_scope).sum() / max(1, in_scope.sum())
                ),
                "wrong_answer": float((answered & ~right).sum() / max(1, len(conf))),
            }
        )
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(
        [r["threshold"] for r in rows],
        [r["answered_correct"] for r in rows],
        label="answered correctly (in scope)",
        color="#1f5f4a",
    )
    ax.plot(
        [r["threshold"] for r in rows],
        [r["wrong_answer"] for r in rows],
        label="wrong answers (all)",
        color="#b3261e",
    )
    if chosen is not None:
        ax.axvline(chosen, linestyle=":", color="black", label=f"answer threshold {chosen:.2f}")
    ax.set_xlabel("answer threshold")
    ax.set_ylabel("share of questions")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return rows


def write_report(
    folder: Path, outcomes: Sequence[Outcome], summary: dict[str, Any], *, title: str
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    reliability_plot(outcomes, folder / "reliability.png")
    chosen = (summary.get("tuned") or {}).get("thresholds", {}).get("answer")
    threshold_curve(outcomes, folder / "thresholds.png", chosen)
    sections = "section_correct" in summary  # only when the question file labels sections
    lines = [
        f"# {title}",
        "",
        f"Index version `{summary.get('index_version')}`, "
        f"{summary['n']} questions ({summary['n_in_scope']} answerable, "
        f"{summary['n_out_of_scope']} that should go to a person).",
        "",
        "| | n | answered correctly | wrong answers | handed off (out of scope) | top-1 |"
        " top-3 |" + (" right section (n) |" if sections else "") + " clarify |",
        "|---|---|---|---|---|---|---|" + ("---|" if sections else "") + "---|",
    ]
    for name, f in [("all", summary), *summary["by_lang"].items()]:
        oos = f"{f['oos_handoff_recall']:.1%}" if f["n_out_of_scope"] else "-"
        section = ""
        if sections:
            shown = f"{f['section_correct']:.1%} ({f['n_section']})" if f.get("n_section") else "-"
            section = f" {shown} |"
        lines.append(
            f"| {name} | {f['n']} | {f['answered_correct']:.1%} | "
            f"{f['wrong_answer']:.1%} | {oos} | {f['top1']:.1%} | {f['top3']:.1%} |{section} "
            f"{f['clarify_rate']:.1%} |"
        )
    lines += [
        "",
        f"Calibration error (ECE): {summary['calibration_error']:.3f}. "
        "Dots near the diagonal mean the stated confidence can be trusted.",
        "",
        "![reliability](reliability.png)",
        "",
        "Moving the answer threshold trades right answers against wrong ones:",
        "",
        "![thresholds](thresholds.png)",
        "",
        "## Questions answered wrongly",
        "",
    ]
    wrong = [o for o in outcomes if o.answered_wrong][:50]
    lines += [
        f"- `{o.lang}` {_escape(o.question)} → answered `{o.article_id}`, expected "
        f"`{o.expected or 'a person'}` (confidence {o.confidence:.2f})"
        for o in wrong
    ]
    if not wrong:
        lines.append("None.")
    if sections:
        lines += ["", "## Right article, wrong section", ""]
        misplaced = [o for o in outcomes if o.section_correct is False][:50]
        lines += [
            f"- `{o.lang}` {_escape(o.question)} → showed "
            f"{_sections(o.shown_sections)}, expected {_sections([o.expected_section or ''])}"
            for o in misplaced
        ]
        if not misplaced:
            lines.append("None.")
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _sections(headings: Sequence[str]) -> str:
    """ "the lead", or the headings in quotes ("a|b" alternatives stay together)."""
    return " + ".join(f"“{_escape(h)}”" if h else "the lead" for h in headings) or "nothing"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
