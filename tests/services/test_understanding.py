"""What a chat message is (issue 12 item 1): the classifier measured on a labelled corpus of
messages as creators type them (tests/data/chat_messages.jsonl: every step, every intent),
and its rules one by one."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from moviecli.services import workflow
from moviecli.services.assistant.understanding import (
    INTENTS,
    choice_named,
    choice_number,
    classify,
    command_name,
)

CORPUS = Path(__file__).parent.parent / "data" / "chat_messages.jsonl"
MIN_ACCURACY = 0.97


def _corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def shown_choices(step: str) -> list[dict[str, Any]]:
    """The choices a session on ``step`` shows, every earlier step completed."""
    done = workflow.ORDER[: workflow.ORDER.index(step)]
    facts = replace(workflow.Facts(), current_phase=step, completed=done)
    return [c.as_json() for c in workflow.choices(facts)]


def confusion_table(counts: Counter[tuple[str, str]]) -> str:
    head = "labelled \\ classified " + " ".join(f"{i:>10}" for i in INTENTS)
    rows = [head]
    for labelled in INTENTS:
        cells = " ".join(f"{counts[(labelled, got)]:>10}" for got in INTENTS)
        rows.append(f"{labelled:<22}{cells}")
    return "\n".join(rows)


def test_the_corpus_covers_every_step_and_intent() -> None:
    rows = _corpus()
    assert len(rows) >= 150
    assert {r["step"] for r in rows} == set(workflow.ORDER)
    assert {r["intent"] for r in rows} == set(INTENTS)
    for step in workflow.ORDER:
        intents = {r["intent"] for r in rows if r["step"] == step}
        assert {"story", "question", "smalltalk", "choice", "command"} <= intents, step
    for r in rows:  # the choices recorded beside a message are those its step shows
        assert r["choices"] == [c["id"] for c in shown_choices(r["step"])], r


def test_classifier_accuracy_on_the_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _corpus()
    counts: Counter[tuple[str, str]] = Counter()
    wrong = []
    for r in rows:
        got = classify(r["text"], shown_choices(r["step"]))
        counts[(r["intent"], got)] += 1
        if got != r["intent"]:
            wrong.append(f"  {r['step']}: {r['text']!r} is {r['intent']}, classified {got}")
    right = sum(n for (labelled, got), n in counts.items() if labelled == got)
    accuracy = right / len(rows)
    report = "\n".join(
        [
            f"intent classifier: {right}/{len(rows)} = {accuracy:.1%}",
            confusion_table(counts),
            *wrong,
        ]
    )
    with capsys.disabled():
        print("\n" + report)
    assert accuracy >= MIN_ACCURACY, report


# --- the rules, one by one ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("/help", "command"),
        ("/nosuch thing", "command"),
        ("/", "command"),
        ("2", "choice"),
        (" 2. ", "choice"),
        ("#2", "choice"),
        ("option 2", "choice"),
        ("2 brothers rob a bank", "story"),
        ("1. Mia: the pilot\n2. Rex: the thief", "story"),
        ("story_development", "choice"),
        ("Story Development", "choice"),
        ("post production", "choice"),
        ("what does this step need?", "question"),
        ("what does this step need", "question"),
        ("help", "question"),
        ("explain the visual design step", "question"),
        ("hey, how do i attach a file", "question"),
        ("?", "question"),
        ("What if the moon was a prison?", "story"),
        ("what if I skip this step?", "question"),
        ("How about a western with robots", "story"),
        ("When the vault opens, it's empty.", "story"),
        ("Why the moon? Because nobody guards it.", "story"),
        ("Concept: is it a dream?", "story"),
        ("Is this enough?\nThe brothers argue all night.", "story"),
        ("hi", "smalltalk"),
        ("hiiii!!", "smalltalk"),
        ("thx", "smalltalk"),
        ("ok", "smalltalk"),
        ("will do", "smalltalk"),
        ("👍", "smalltalk"),
        ("...", "smalltalk"),
        ("no, make it darker", "story"),
        ("hi! my idea is a road movie with two grandmas", "story"),
    ],
)
def test_intent_rules(text: str, intent: str) -> None:
    assert classify(text, shown_choices("initial_concept")) == intent


def test_choice_numbers_and_names() -> None:
    final = shown_choices("final_assembly")
    assert choice_number("3") == 3
    assert choice_number("3 brothers") is None
    assert choice_number("") is None
    assert choice_named("Complete the workflow", final) == "final_assembly"
    assert choice_named("manual override") == "manual_override"
    assert choice_named("Visual-Design") == "visual_design"
    assert choice_named("visual") is None


def test_command_names() -> None:
    assert command_name("/Help me") == "help"
    assert command_name("/q") == "quit"
    assert command_name("  /undo") == "undo"
    assert command_name("/") == ""
    assert command_name("hello /help") is None
