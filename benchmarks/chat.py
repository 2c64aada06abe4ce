"""Chat benchmark: NLU quality by cross-validation, and per-turn latency of the running stack.

1. NLU: `rasa test nlu --cross-validation` over data/nlu (lookup tables and synonyms included) with the
   pipeline of config.yml minus bot.channels.guard.StaffIntentGuard. The guard is an access check, not a
   classifier: without the staff channel's signed claims it turns every staff intent into nlu_fallback,
   which is right for shoppers (tests/channels) but would score the staff intents as misclassified here.
   intent_macro_f1 = macro average F1 over the intents, entity_f1 = micro-averaged F1 over the entity
   labels (Rasa's token-level entity evaluation, "no entity" excluded), both accumulated over the test
   folds. BENCH_CHAT_FOLDS sets the folds (default 5, as `rasa test nlu`: each model learns from 80 %).
   With BENCH_CHAT_HOLDOUT=<fraction> (e.g. 0.2) a held-out split replaces the cross-validation:
   `rasa data split nlu` (stratified per intent, seed 42, lookups and synonyms stay in training), one
   model trained on the rest, tested on the held-out part; one training instead of one per fold.
2. Latency: the stack of the Procfile (order service, action server, Rasa) starts on free ports, with a
   copy of the order database and a fresh conversation store, so the benchmark touches nothing of a
   running `make run`. The user turns of tests/stories/*.yml are replayed sequentially over the REST
   channel (POST /webhooks/rest/webhook; staff stories through the staff channel with a staff token),
   one conversation at a time, each conversation under a new sender id: one warm-up pass, then
   BENCH_CHAT_PASSES measured passes (default 3). turn_p50_ms / turn_p95_ms cover every turn, custom-action
   turns included. For profiling, the same messages also go through POST /model/parse (NLU alone),
   and turns are split into custom-action turns and response-only turns: NLU ≈ parse time, the
   action round trip ≈ custom minus response-only, the rest is policies, NLG and the tracker store.

3. NLU on the frozen test set (tests/nlu_test/*.yml, see its README): one model trained on all of
   data/nlu with the same pipeline (minus the guard), then `rasa test nlu` on the test set as a whole
   and on its English and Chinese lines separately. intent_macro_f1_test / entity_f1_test are computed
   as the cross-validation figures are; details.nlu_test has the F1 of every intent and per language.
   Every scoring appends one line to tests/nlu_test/SCORING_LOG.md (date, commit, test-set
   fingerprint, scores) and test_set_scored is the number of lines there: a figure from a set scored
   many times while the data was being edited is less held-out than one scored once. The model is
   kept under $STATE_DIR/bench-chat/full_model/ keyed by a fingerprint of config.yml, data/nlu
   and bot/*.py.
   BENCH_CHAT_TEST_DIR=<folder> scores another folder instead (a dry run of the code: nothing is
   logged, cached or written to chat.json).

BENCH_CHAT_PARTS (default nlu,latency,nlu_test) runs some parts, e.g. =nlu_test scores the test set
without the slow cross-validation; the other parts' metrics then come from their last run
($STATE_DIR/bench-chat/<part>.json, or the committed benchmarks/results/chat.json when this state
directory has none, with the time each was measured in the details); =none only rewrites chat.json
from the last runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from benchmarks.common import RESULTS_DIR, summarise_ms, write_result
from daogou.config import ROOT, get_settings
from deploy.process import free_port
from deploy.stack import settings_env

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
STORIES = ROOT / "tests" / "stories"
NLU_DATA = ROOT / "data" / "nlu"
NLU_TEST = ROOT / "tests" / "nlu_test"
SCORING_LOG = NLU_TEST / "SCORING_LOG.md"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
STAFF_STORY_FILES = ("test_staff.yml", "test_analytics.yml")
GUARD = "bot.channels.guard.StaffIntentGuard"
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
STAFF_LOGIN = ("manager", "manager-demo")  # demo/shop.py: the demo manager sees every store
STARTUP_TIMEOUT_S = float(os.environ.get("BENCH_CHAT_STARTUP_S", "900"))


# --- NLU cross-validation --------------------------------------------------------------------------


def _rasa_env() -> dict[str, str]:
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": str(ROOT),
    }


def classifier_config(target: Path) -> Path:
    """config.yml without the staff guard (see the module docstring)."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    config["pipeline"] = [c for c in config.get("pipeline", []) if c.get("name") != GUARD]
    target.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def _run(cmd: list[str]) -> None:
    print("$", " ".join(cmd), flush=True)
    code = subprocess.call(cmd, cwd=ROOT, env=_rasa_env())
    if code != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed with exit code {code}")


def _reports(out: Path) -> dict[str, Any]:
    """The two metrics from the intent report and the entity extractor's report Rasa wrote in `out`."""
    intents = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    entity_reports = sorted(out.glob("*Classifier_report.json")) or sorted(out.glob("*Extractor_report.json"))
    if not entity_reports:
        raise SystemExit(f"no entity report in {out}")
    entities = json.loads(entity_reports[0].read_text(encoding="utf-8"))
    entity_avg = entities.get("micro avg") or entities["weighted avg"]
    averages = ("macro avg", "weighted avg", "micro avg")
    per_intent = {
        k: round(v["f1-score"], 3)
        for k, v in intents.items()
        if isinstance(v, dict) and "support" in v and k not in averages
    }
    per_entity = {
        k: round(v["f1-score"], 3)
        for k, v in entities.items()
        if isinstance(v, dict) and "support" in v and k not in averages
    }
    return {
        "intent_macro_f1": round(intents["macro avg"]["f1-score"], 4),
        "entity_f1": round(entity_avg["f1-score"], 4),
        "entity_report": entity_reports[0].name,
        "test_examples": intents["macro avg"]["support"],
        "weakest_intents": dict(sorted(per_intent.items(), key=lambda kv: kv[1])[:8]),
        "intent_f1_per_intent": dict(sorted(per_intent.items())),
        "entity_f1_per_label": per_entity,
    }


def holdout(out: Path, fraction: float) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    config = classifier_config(out / "config.yml")
    started = time.perf_counter()
    _run(
        [
            str(RASA),
            "data",
            "split",
            "nlu",
            "-u",
            str(ROOT / "data" / "nlu"),
            "--training-fraction",
            str(1 - fraction),
            "--random-seed",
            "42",
            "--out",
            str(out / "split"),
        ]
    )
    _run(
        [
            str(RASA),
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            str(out / "split" / "training_data.yml"),
            "--out",
            str(out),
            "--fixed-model-name",
            "holdout",
        ]
    )
    _run(
        [
            str(RASA),
            "test",
            "nlu",
            "--model",
            str(out / "holdout.tar.gz"),
            "--nlu",
            str(out / "split" / "test_data.yml"),
            "--out",
            str(out / "report"),
            "--no-plot",
        ]
    )
    return {
        "method": f"held-out split, {fraction:.0%} of each intent's examples (seed 42)",
        "seconds": round(time.perf_counter() - started, 1),
        **_reports(out / "report"),
    }


def cross_validate(out: Path, folds: int) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    config = classifier_config(out / "config.yml")
    started = time.perf_counter()
    _run(
        [
            str(RASA),
            "test",
            "nlu",
            "--nlu",
            str(ROOT / "data" / "nlu"),
            "--config",
            str(config),
            "--cross-validation",
            "--folds",
            str(folds),
            "--out",
            str(out),
            "--no-plot",
        ]
    )
    return {
        "method": f"{folds}-fold cross-validation",
        "seconds": round(time.perf_counter() - started, 1),
        **_reports(out),
    }


# --- NLU on the frozen test set ------------------------------------------------------------------


def _fingerprint(paths: list[Path]) -> str:
    """sha256 over the files' paths (relative to the repository when inside it) and contents."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        digest.update(f"{name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def language_of(text: str) -> str:
    """zh when the line has a Chinese character, else en (the bot's own rule, bot/nlg.py and faq.text)."""
    return "zh" if CJK.search(text) else "en"


def split_by_language(files: list[Path], target: Path) -> dict[str, int]:
    """Write the intent examples of `files` into target/<lang>.yml, one Rasa NLU file per language;
    returns how many examples each got (synonyms, lookups and regexes are training aids, not tests)."""
    per_lang: dict[str, dict[str, list[str]]] = {"en": {}, "zh": {}}
    for path in files:
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if not isinstance(item, dict) or "intent" not in item:
                continue
            for line in str(item.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    example = line.strip()[2:].strip()
                    per_lang[language_of(ANNOTATION.sub(r"\1", example))].setdefault(
                        item["intent"], []
                    ).append(example)
    target.mkdir(parents=True, exist_ok=True)
    counts = {}
    for lang, intents in per_lang.items():
        nlu = [
            {"intent": intent, "examples": "".join(f"- {e}\n" for e in examples)}
            for intent, examples in intents.items()
        ]
        (target / f"{lang}.yml").write_text(
            yaml.safe_dump({"version": "3.1", "nlu": nlu}, allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )
        counts[lang] = sum(len(e) for e in intents.values())
    return counts


def train_full_model(out: Path) -> tuple[Path, bool]:
    """One NLU model on all of data/nlu (lookups and synonyms included), pipeline without the guard;
    reused while config.yml, data/nlu and the pipeline's own components (bot/*.py) are unchanged.
    Returns the model and whether it was trained now."""
    out.mkdir(parents=True, exist_ok=True)
    config = classifier_config(out / "config.yml")
    fingerprint = _fingerprint(
        [config, *(p for p in NLU_DATA.rglob("*") if p.is_file()), *(ROOT / "bot").rglob("*.py")]
    )
    model = out / f"full-{fingerprint}.tar.gz"
    if model.exists():
        print(f"NLU model for this data exists: {model}", flush=True)
        return model, False
    for old in out.glob("full-*.tar.gz"):
        old.unlink()
    _run(
        [
            str(RASA),
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            str(NLU_DATA),
            "--out",
            str(out),
            "--fixed-model-name",
            model.name[: -len(".tar.gz")],
        ]
    )
    return model, True


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "?"


def _commit() -> str:
    """HEAD, marked +local when what the score depends on (NLU data, pipeline, bot code, the test set) has
    uncommitted changes in the working tree."""
    dirty = _git("status", "--porcelain", "--", "data/nlu", "config.yml", "bot", "tests/nlu_test/*.yml")
    return _git("rev-parse", "--short", "HEAD") + ("+local" if dirty else "")


LOG_HEADER = """# Scoring log of the frozen NLU test set

One line per scoring run of `tests/nlu_test` (written by `benchmarks/chat.py`, part `nlu_test`; never
edit or delete a line). `test_set_scored` in benchmarks/results/chat.json is the number of lines.

| date | commit | test set (files, examples, sha256/16) | intent macro F1 | entity F1 | en intent / entity | zh intent / entity | note |
|---|---|---|---|---|---|---|---|
"""


def scoring_runs(log: Path = SCORING_LOG) -> int:
    """The scoring runs recorded in the log: its table rows other than the header and the rule."""
    if not log.exists():
        return 0
    rows = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    return sum(1 for row in rows if not row.startswith("| date ") and not row.startswith("|---"))


def append_scoring_line(result: dict[str, Any], log: Path = SCORING_LOG) -> int:
    """Record one scoring run; returns how many runs the log holds now."""
    if not log.exists():
        log.write_text(LOG_HEADER, encoding="utf-8")
    lang = result["per_language"]

    def pair(code: str) -> str:
        return f"{lang[code]['intent_macro_f1']:.4f} / {lang[code]['entity_f1']:.4f}" if code in lang else "–"

    note = result.get("note", "")
    row = (
        f"| {result['measured_at']} | {result['commit']} | {result['files']} files, {result['test_examples']}, "
        f"{result['test_set_fingerprint']} | {result['intent_macro_f1']:.4f} | {result['entity_f1']:.4f} | "
        f"{pair('en')} | {pair('zh')} | {note} |\n"
    )
    with log.open("a", encoding="utf-8") as handle:
        handle.write(row)
    return scoring_runs(log)


def score_test_set(out: Path, folder: Path) -> dict[str, Any]:
    """Train (or reuse) the full model, then score `folder` as a whole and per language."""
    files = sorted(folder.glob("*.yml"))
    if not files:
        raise SystemExit(f"no test set files (*.yml) in {folder}")
    started = time.perf_counter()
    model, trained = train_full_model(get_settings().state_dir / "bench-chat" / "full_model")
    testset = out / "testset"  # only the *.yml files: the folder also holds README.md and the log
    shutil.rmtree(testset, ignore_errors=True)
    testset.mkdir(parents=True)
    for path in files:
        shutil.copy(path, testset / path.name)
    counts = split_by_language(files, out / "by_language")
    report = _run_test(model, testset, out / "report")
    per_language = {}
    for lang, n in counts.items():
        if n:
            lang_report = _run_test(model, out / "by_language" / f"{lang}.yml", out / f"report-{lang}")
            per_language[lang] = {
                k: lang_report[k] for k in ("intent_macro_f1", "entity_f1", "test_examples")
            }
            per_language[lang]["intent_f1_per_intent"] = lang_report["intent_f1_per_intent"]
    missing = sorted(
        {"products", "recommend_stock_stores", "cart_orders", "staff", "core_support"}
        - {p.stem for p in files}
    )
    return {
        "method": "one model on all of data/nlu, scored on the frozen test set (rasa test nlu)",
        "seconds": round(time.perf_counter() - started, 1),
        "model_trained_now": trained,
        "model": model.name,
        "commit": _commit(),
        "test_set": str(folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder),
        "files": len(files),
        "file_names": [p.name for p in files],
        "test_set_fingerprint": _fingerprint(files),
        "examples_per_language": counts,
        "note": f"without {', '.join(missing)}" if missing else "",
        **report,
        "per_language": per_language,
    }


def _run_test(model: Path, data: Path, out: Path) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    _run(
        [str(RASA), "test", "nlu", "--model", str(model), "--nlu", str(data), "--out", str(out), "--no-plot"]
    )
    return _reports(out)


# --- the conversations ---------------------------------------------------------------------------


@dataclass
class Turn:
    text: str
    custom_action: bool  # the story answers it with a custom action (or the checkout form)


@dataclass
class Conversation:
    name: str
    staff: bool
    turns: list[Turn] = field(default_factory=list)


def _is_custom(action: str) -> bool:
    return (action.startswith("action_") and action != "action_deactivate_loop") or action.endswith("_form")


def conversations(folder: Path = STORIES) -> list[Conversation]:
    """The user turns of every test story, in order, with whether a custom action answers them."""
    result = []
    for path in sorted(folder.glob("*.yml")):
        for story in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stories", []):
            convo = Conversation(f"{path.name}: {story['story']}", path.name in STAFF_STORY_FILES)
            for step in story.get("steps", []):
                if "user" in step:
                    convo.turns.append(Turn(ANNOTATION.sub(r"\1", step["user"]).strip(), False))
                elif "action" in step and convo.turns and _is_custom(step["action"]):
                    convo.turns[-1].custom_action = True
            if convo.turns:
                result.append(convo)
    if not result:
        raise SystemExit(f"no test conversations in {folder}")
    return result


# --- the stack -----------------------------------------------------------------------------------


def procfile(names: tuple[str, ...] = ("orders", "actions", "rasa")) -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() in names:
            entries[name.strip()] = command.strip()
    missing = set(names) - set(entries)
    if missing:
        raise SystemExit(f"Procfile has no {sorted(missing)}")
    return entries


class Stack:
    """The Procfile's orders, actions and rasa processes on free ports, each in its own process group."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen] = []
        settings = get_settings()
        self.ports = {"ORDERS_PORT": free_port(), "ACTIONS_PORT": free_port(), "RASA_PORT": free_port()}
        database = workdir / "daogou.db"
        source = settings.state_dir / "daogou.db"
        if settings.database_url or not source.exists():
            raise SystemExit(
                "the benchmark copies the demo SQLite database: run `daogou db upgrade && "
                "daogou db load-demo` first (and leave DATABASE_URL empty)"
            )
        shutil.copy(source, database)
        overrides = {
            **{k: str(v) for k, v in self.ports.items()},
            "DATABASE_URL": f"sqlite:///{database}",
            "ORDER_SERVICE_URL": "",
            "ACTION_SERVER_URL": "",
            "TRACKER_STORE_URL": f"sqlite:///{workdir / 'conversations.db'}",
            # Rasa's HTTP API (status, parse, domain, trackers) for this stack's tools only
            "RASA_API_TOKEN": secrets.token_urlsafe(32),
        }
        self.env = settings_env(overrides)
        self.rasa_api = {"token": self.env["RASA_API_TOKEN"]}  # query parameters of an API call
        self.host = self.env["HOST"]

    def url(self, port: str, path: str) -> str:
        return f"http://{self.host}:{self.ports[port]}{path}"

    def start(self) -> None:
        for name, command in procfile().items():
            log = (self.workdir / f"{name}.log").open("w")
            self.procs.append(
                subprocess.Popen(
                    ["bash", "-c", command],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        checks = [("ORDERS_PORT", "/health"), ("ACTIONS_PORT", "/health"), ("RASA_PORT", "/status")]
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        with httpx.Client(timeout=5, trust_env=False) as http:
            for port, path in checks:
                while True:
                    if any(p.poll() is not None for p in self.procs):
                        raise SystemExit(f"a process of the stack exited; see the logs in {self.workdir}")
                    if time.monotonic() > deadline:
                        raise SystemExit(
                            f"the stack did not start in {STARTUP_TIMEOUT_S:.0f} s; logs in {self.workdir}"
                        )
                    try:
                        r = http.get(
                            self.url(port, path), params=self.rasa_api if port == "RASA_PORT" else None
                        )
                        if r.status_code == 200 and (port != "RASA_PORT" or r.json().get("model_file")):
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(1)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


# --- the replay ----------------------------------------------------------------------------------


def replay(stack: Stack, convos: list[Conversation], passes: int) -> dict[str, Any]:
    turns_all: list[float] = []
    by_kind: dict[str, list[float]] = {"custom_action": [], "response_only": []}
    parse: list[float] = []
    empty_replies = 0
    with httpx.Client(timeout=60, trust_env=False) as http:
        staff_token = (
            http.post(
                stack.url("ORDERS_PORT", "/auth/staff/token"),
                json={"username": STAFF_LOGIN[0], "password": STAFF_LOGIN[1]},
            )
            .raise_for_status()
            .json()["access_token"]
        )
        rest = stack.url("RASA_PORT", "/webhooks/rest/webhook")
        staff = stack.url("RASA_PORT", "/webhooks/staff/webhook")
        for n in range(passes + 1):  # pass 0 warms up (first model calls, caches) and is not counted
            for convo in convos:
                sender = f"bench-{uuid.uuid4().hex[:12]}"
                if (
                    convo.staff
                ):  # the staff channel keys the conversation by the staff member: start it afresh
                    http.post(
                        staff,
                        json={"message": "/restart"},
                        headers={"Authorization": f"Bearer {staff_token}"},
                    )
                for turn in convo.turns:
                    started = time.perf_counter()
                    if convo.staff:
                        r = http.post(
                            staff,
                            json={"message": turn.text},
                            headers={"Authorization": f"Bearer {staff_token}"},
                        )
                    else:
                        r = http.post(rest, json={"sender": sender, "message": turn.text})
                    elapsed = time.perf_counter() - started
                    r.raise_for_status()
                    if n == 0:
                        continue
                    empty_replies += not r.json()
                    turns_all.append(elapsed)
                    by_kind["custom_action" if turn.custom_action else "response_only"].append(elapsed)
                    started = time.perf_counter()
                    http.post(
                        stack.url("RASA_PORT", "/model/parse"),
                        json={"text": turn.text},
                        params=stack.rasa_api,
                    ).raise_for_status()
                    parse.append(time.perf_counter() - started)
    return {
        "turns": summarise_ms(turns_all),
        "nlu_parse": summarise_ms(parse),
        **{k: summarise_ms(v) for k, v in by_kind.items() if v},
        "turns_without_reply": empty_replies,
    }


def measure_latency(passes: int) -> dict[str, Any]:
    convos = conversations()
    code = subprocess.call([str(ROOT / ".venv" / "bin" / "daogou"), "bot", "train"], cwd=ROOT)
    if code != 0:
        raise SystemExit("`daogou bot train` failed")
    workdir = Path(tempfile.mkdtemp(prefix="daogou-bench-chat-"))
    stack = Stack(workdir)
    print(f"starting the stack (logs in {workdir}) …", flush=True)
    started = time.perf_counter()
    try:
        stack.start()
        startup_s = time.perf_counter() - started
        print(
            f"stack up in {startup_s:.0f} s; replaying {len(convos)} conversations, "
            f"{sum(len(c.turns) for c in convos)} turns × {passes} passes",
            flush=True,
        )
        latency = replay(stack, convos, passes)
    finally:
        stack.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    custom, plain = latency.get("custom_action", {}), latency.get("response_only", {})
    latency["profile_p50"] = {
        "nlu_parse_ms": latency["nlu_parse"]["p50_ms"],
        "custom_action_turn_ms": custom.get("p50_ms"),
        "response_only_turn_ms": plain.get("p50_ms"),
        "action_round_trip_estimate_ms": round(custom["p50_ms"] - plain["p50_ms"], 1)
        if custom and plain
        else None,
    }
    return {**latency, "conversations": len(convos), "passes": passes, "stack_startup_s": round(startup_s, 1)}


def _part(name: str, run: bool, measure) -> dict[str, Any] | None:
    """Run one part and keep its result, or read the result of its last run: this state directory's
    cache, else the committed results file (None when neither has one)."""
    cache = get_settings().state_dir / "bench-chat" / f"{name}.json"
    if run:
        result = {
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "load_average_1m": round(os.getloadavg()[0], 2),
            **measure(),
        }
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        return result
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    committed = RESULTS_DIR / "chat.json"
    last = (
        json.loads(committed.read_text(encoding="utf-8")).get("details", {}).get(name)
        if committed.exists()
        else None
    )
    return last if isinstance(last, dict) else None  # a string there says the part never ran


def _scored(folder: Path):
    """The nlu_test part: score, then log the run (only the frozen set is logged; see the docstring)."""

    def measure() -> dict[str, Any]:
        result = score_test_set(get_settings().state_dir / "bench-chat" / "nlu_test", folder)
        result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        result["test_set_scored"] = append_scoring_line(result)
        return result

    return measure


def main() -> None:
    folds = int(os.environ.get("BENCH_CHAT_FOLDS", "5"))
    holdout_fraction = float(os.environ.get("BENCH_CHAT_HOLDOUT", "0") or 0)
    passes = int(os.environ.get("BENCH_CHAT_PASSES", "3"))
    parts = {
        p.strip() for p in os.environ.get("BENCH_CHAT_PARTS", "nlu,latency,nlu_test").split(",") if p.strip()
    } - {"none"}
    if (
        folds < 2
        or passes < 1
        or not 0 <= holdout_fraction < 1
        or not parts <= {"nlu", "latency", "nlu_test"}
    ):
        raise SystemExit(
            "BENCH_CHAT_FOLDS ≥ 2, BENCH_CHAT_PASSES ≥ 1, 0 ≤ BENCH_CHAT_HOLDOUT < 1, "
            "BENCH_CHAT_PARTS ⊆ {nlu, latency, nlu_test} (none: only rewrite chat.json from the last runs)"
        )
    out = get_settings().state_dir / "bench-chat"
    dry_run = os.environ.get("BENCH_CHAT_TEST_DIR", "").strip()
    if dry_run:  # exercise the scoring code on another folder: no log line, no cache, no chat.json
        result = score_test_set(out / "nlu_test_dry_run", Path(dry_run).resolve())
        print(
            json.dumps(
                {k: v for k, v in result.items() if k != "intent_f1_per_intent"}, indent=2, ensure_ascii=False
            )
        )
        return
    latency = _part("latency", "latency" in parts, lambda: measure_latency(passes))
    nlu = _part(
        "nlu",
        "nlu" in parts,
        lambda: (
            holdout(out / "holdout", holdout_fraction)
            if holdout_fraction
            else cross_validate(out / "cv", folds)
        ),
    )
    test = _part("nlu_test", "nlu_test" in parts, _scored(NLU_TEST))
    if nlu is None or latency is None:
        missing = "nlu" if nlu is None else "latency"
        raise SystemExit(f"no result of the {missing} part yet: run with BENCH_CHAT_PARTS={missing}")
    metrics = {
        "intent_macro_f1": nlu["intent_macro_f1"],
        "entity_f1": nlu["entity_f1"],
        "turn_p50_ms": latency["turns"]["p50_ms"],
        "turn_p95_ms": latency["turns"]["p95_ms"],
    }
    if test is not None:
        metrics |= {
            "intent_macro_f1_test": test["intent_macro_f1"],
            "entity_f1_test": test["entity_f1"],
            "test_set_scored": scoring_runs(),
        }
    write_result(
        "chat",
        metrics,
        {
            "nlu": nlu,
            "latency": latency,
            "nlu_test": test
            or "the frozen test set (tests/nlu_test) has not been scored yet: BENCH_CHAT_PARTS=nlu_test",
            "targets": {"intent_macro_f1": ">= 0.92", "entity_f1": ">= 0.85", "turn_p95_ms": "<= 60"},
            "note": "sequential replay, one conversation at a time; latency is the wall time of each HTTP request, "
            "measured by this process on the same machine (see load_average_1m: the machine is shared). "
            "intent_macro_f1 / entity_f1: cross-validation on data/nlu; *_test: the frozen test set, "
            "scored test_set_scored times (tests/nlu_test/SCORING_LOG.md)",
        },
    )
    print(f"  profile (p50): {latency['profile_p50']}")


if __name__ == "__main__":
    sys.exit(main())
