"""`daogou faq …`: check the FAQ files, build the index, search, calibrate, export NLU data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

app = typer.Typer(
    help="FAQ answers: hybrid retrieval (FAISS + BM25), English and Chinese.", no_args_is_help=True
)


def _faq_dir() -> Path:
    from daogou.config import get_settings

    return get_settings().faq_dir


def _load_or_exit():
    from faq.content import FaqContentError
    from faq.retriever import FaqRetriever

    try:
        return FaqRetriever.load()
    except FaqContentError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc


@app.command()
def validate() -> None:
    """Check every entry file, the topics and the development set; list all problems found."""
    from faq.content import FaqContentError, load_content, load_dev_queries, load_tuning_queries

    faq_dir = _faq_dir()
    try:
        content = load_content(faq_dir)
        dev = load_dev_queries(faq_dir, set(content.by_id()))
        tuning = load_tuning_queries(faq_dir, set(content.by_id()))
    except FaqContentError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    indexed = {
        (lang, v.casefold()) for e in content.entries for lang in e.questions for v in e.questions[lang]
    }
    leaked = [q.text for q in dev + tuning if (q.lang, q.text.casefold()) in indexed]
    if leaked:
        typer.echo(
            f"{len(leaked)} dev question(s) are also indexed variants (the dev set must stay separate): {leaked}",
            err=True,
        )
        raise typer.Exit(1)
    n_variants = sum(len(v) for e in content.entries for v in e.questions.values())
    in_scope = sum(q.in_scope for q in dev)
    typer.echo(
        f"OK: {len(content.entries)} entries, {len(content.topics)} topics, {n_variants} question variants; "
        f"dev set: {in_scope} paraphrases, {len(dev) - in_scope} out-of-scope questions; "
        f"tuning files: {len(tuning)} questions"
    )


@app.command()
def build() -> None:
    """Build (or confirm up to date) the dense index for the current content and model."""
    from daogou.config import get_settings
    from faq.content import FaqContentError, load_content
    from faq.index import build_language_indexes

    s = get_settings()
    try:
        content = load_content(s.faq_dir)
    except FaqContentError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    _, fingerprint, built = build_language_indexes(
        content.entries,
        s.embedding_model,
        s.faq_faiss_index,
        s.state_dir,
        progress=True,
        threads=s.encoder_threads,
    )
    state = "built" if built else "already up to date"
    typer.echo(f"FAQ index {fingerprint} {state}: {s.state_dir / 'faq' / fingerprint}")


@app.command()
def search(
    query: str = typer.Argument(
        None, help="The question; without it, one question per line is read from stdin."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object per line: query, topic, id, score, confident, answer."
    ),
    k: int = typer.Option(3, help="Candidates shown in the human-readable output."),
    lang: str = typer.Option(None, help="Force 'en' or 'zh' instead of detecting the query's language."),
) -> None:
    """Answer a question, or every line of stdin."""
    from faq.models import LANGUAGES

    if lang is not None and lang not in LANGUAGES:
        raise typer.BadParameter(
            f"must be one of {', '.join(LANGUAGES)} (or omitted to detect it)", param_hint="--lang"
        )
    retriever = _load_or_exit()
    queries = [query] if query is not None else (line.strip() for line in sys.stdin)
    for text in queries:
        if not text:
            continue
        result = retriever.search(text, lang=lang, k=max(k, 3))
        if as_json:
            typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
            continue
        mark = "answer" if result.confident else f"not sure (threshold {result.threshold:.3f})"
        typer.echo(f"[{result.lang}] {text}  →  {mark}")
        for c in result.candidates[:k]:
            typer.echo(
                f"  {c.fused:.3f} (dense {c.dense:.3f}, bm25 {c.bm25:.3f})  {c.entry.id}  "
                f"{c.entry.question(result.lang)}"
            )
        if result.confident:
            typer.echo("  " + result.best.entry.answers[result.lang])


@app.command()
def calibrate(
    write: bool = typer.Option(True, help="Write data/faq/calibration.yaml."),
    languages: list[str] = typer.Option(
        None, "--lang", help="Recalibrate only these languages; the others keep their committed values."
    ),
) -> None:
    """Tune the fusion weight and threshold per language on the dev set's tuning part and dev/tune_*.yaml."""
    from faq.content import load_dev_queries, load_tuning_queries, save_calibration
    from faq.evaluate import calibrate as run_calibration
    from faq.evaluate import keep_other_languages

    retriever = _load_or_exit()
    known = set(retriever.content.by_id())
    dev = load_dev_queries(_faq_dir(), known)
    calibration, notes = run_calibration(retriever, dev, load_tuning_queries(_faq_dir(), known))
    if languages:
        calibration = keep_other_languages(calibration, retriever.calibration, languages)
        notes = {**notes, **{k: v for k, v in calibration.notes.items() if k in notes}}
    for lang, cal in calibration.per_language.items():
        typer.echo(
            f"{lang}: dense weight {cal.dense_weight:.2f}, threshold {cal.threshold:.4f} "
            f"(optimal range {notes[lang].get('threshold_range')}, {notes[lang].get('tuning_queries')} tuning queries)"
        )
    if write:
        path = _faq_dir() / "calibration.yaml"
        save_calibration(path, calibration)
        typer.echo(f"wrote {path}")


@app.command("export-rasa")
def export_rasa(
    root: Path = typer.Option(
        None, help="Project root holding data/ and bot/domain (default: next to data/faq)."
    ),
) -> None:
    """Write data/nlu/faq.yml (the `faq` intent's examples) and data/rules/faq.yml (incl. form resumption)."""
    from faq.content import load_content
    from faq.rasa_export import domain_forms, domain_intents, nlu_yaml, rules_yaml

    faq_dir = _faq_dir()
    root = root or faq_dir.parent.parent
    nlu_path, rules_path = root / "data" / "nlu" / "faq.yml", root / "data" / "rules" / "faq.yml"
    domain = root / "bot" / "domain"
    try:
        nlu = nlu_yaml(load_content(faq_dir), known_intents=domain_intents(domain))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    nlu_path.write_text(nlu, encoding="utf-8")
    forms = domain_forms(domain)
    rules_path.write_text(rules_yaml(forms), encoding="utf-8")
    typer.echo(
        f"wrote {nlu_path} and {rules_path} (forms resumed after a FAQ answer: {', '.join(forms) or 'none yet'})"
    )
