"""The built-in assistant's answers to questions and small talk (issue 12 item 1), offline,
from what the engine knows: what a step needs and still lacks (the requirement checker),
what each phase means (the step table), how to attach files or move on, and what the
story holds so far ("what is my concept?" quotes it).

Pure functions: the facts are the project's after the turn, the story its record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moviecli.services.assistant.knowledge import ASK, GLOSSARY, infer_type
from moviecli.services.assistant.understanding import smalltalk_words, words
from moviecli.services.story import quote
from moviecli.services.workflow import LAST, ORDER, STEPS, Choice, Facts, missing

# Words that name a step in a question ("how many characters", "the audio step").
_STEP_WORDS = {
    "initial_concept": {"concept", "initial", "idea", "premise"},
    "story_development": {"synopsis", "story", "plot", "development"},
    "character_creation": {"character", "characters", "cast", "creation"},
    "visual_design": {"visual", "visuals", "look", "style", "design"},
    "audio_design": {"audio", "sound", "sounds", "music", "voice", "voices"},
    "scene_production": {"scene", "scenes", "storyboard", "storyboards"},
    "post_production": {"post", "segment", "segments", "editing", "edit"},
    "final_assembly": {"final", "assembly", "finish", "export"},
}
_STORY_FIELDS = {
    "concept": "concept",
    "idea": "concept",
    "premise": "concept",
    "logline": "logline",
    "synopsis": "synopsis",
    "plot": "synopsis",
    "characters": "characters",
    "character": "characters",
    "cast": "characters",
    "scenes": "scenes",
    "scene": "scenes",
    "directions": "directions",
    "notes": "directions",
}
_MINE = {"my", "our", "mine", "recorded", "written", "wrote", "remind", "far", "current"}
_NEEDS = {"need", "needs", "missing", "left", "lack", "lacks", "enough", "required", "require"}
_ATTACH = {
    "attach", "attachment", "upload", "file", "files", "image", "images", "picture",
    "photo", "drawing", "mp3", "wav", "jpg", "jpeg", "png", "jpgs", "pngs", "mp4", "audio",
    "video", "videos",
}  # fmt: skip
_MOVE = {"next", "move", "continue", "skip", "back", "proceed", "finish", "complete", "go"}
_CHANGE = {"undo", "remove", "delete", "change", "edit", "fix", "rename", "replace", "wrong"}
_PROJECT = {"title": "--title", "genre": "--genre", "audience": "--audience"}
_DONE = {"done", "finished", "progress", "status", "complete", "completed", "far"}


def answer(
    text: str, *, facts: Facts, story: dict[str, Any], choices: Sequence[Choice]
) -> list[str]:
    """The lines answering the question ``text`` (the engine's own lines about the step
    and the recommended choice are added by the reply)."""
    found = set(words(text))
    asked = _named_steps(found)
    for topic in (_story_answer, _project_answer, _change_answer):
        lines = topic(found, story)
        if lines:
            return lines
    if found & _ATTACH and not found & {"need", "needs", "many"}:
        return _attach_answer(facts)
    if found & {"long", "length", "paragraph", "paragraphs", "short", "detailed"}:
        return [
            GLOSSARY["synopsis"],
            "Any length completes Story development: one paragraph will do.",
        ]
    if found & _MOVE and not found & _NEEDS:
        return _move_answer(facts, choices, asked, found)
    definitions = _definitions(found)
    if definitions and not (found & _NEEDS) and not _is_meaning(found, asked):
        return definitions
    if found & _NEEDS or found & _DONE:
        lines = _done_answer(facts) if found & _DONE else []
        return lines + _needs_answer(facts, asked or [facts.current_phase])
    if asked or found & {"step", "phase", "this", "here", "mean", "means", "about"}:
        return [
            line for step in (asked or [facts.current_phase]) for line in _meaning(step, facts)
        ]
    return _help_answer(facts)


def small_talk(text: str, *, facts: Facts) -> list[str]:
    """A short reply to greetings, thanks and the like (the reply's own lines then say
    what the step still needs and the recommended choice)."""
    found = smalltalk_words(text)
    if found & {"bye", "goodbye", "later", "cya", "night"}:
        head = "Bye for now: this session keeps everything, and moviecli chat picks it up again."
    elif found & {"thanks", "thank", "thx", "ty", "tysm", "tyvm", "cheers", "appreciated"}:
        head = "You're welcome."
    elif found & {"hi", "hello", "hey", "heya", "hiya", "yo", "howdy", "morning", "evening"}:
        head = f"Hello! We are on {STEPS[facts.current_phase].title}."
    else:
        head = "OK."
    return [f"{head} Nothing recorded."]


# --- topics ----------------------------------------------------------------------------------


def _named_steps(found: set[str]) -> list[str]:
    """The steps a question names, in workflow order ("visual design", "the audio step")."""
    named = []
    for step in ORDER:
        title_words = set(words(STEPS[step].title)) | set(step.split("_"))
        if title_words <= found or (_STEP_WORDS[step] & found and _names_step(found, step)):
            named.append(step)
    return named


def _names_step(found: set[str], step: str) -> bool:
    # "design" alone names no step; "story" alone is the whole story, not the step
    strong = _STEP_WORDS[step] - {"design", "story", "development", "creation", "initial"}
    return bool(strong & found)


def _story_answer(found: set[str], story: dict[str, Any]) -> list[str]:
    """What the story holds: "what is my concept?", "who are my characters?"."""
    fields = {_STORY_FIELDS[w] for w in found if w in _STORY_FIELDS}
    mine = bool(found & _MINE) or ("have" in found and bool(found & {"i", "we"}))
    if not (mine or ("who" in found and "characters" in fields)):
        return []
    if found & _NEEDS or (found & {"a", "an"} and not mine):
        return []
    if not fields and found & {"story", "wrote", "write", "written", "have", "far"}:
        fields = {"concept", "logline", "synopsis", "characters", "scenes"}
    lines: list[str] = []
    for field in ("concept", "logline", "synopsis", "characters", "scenes", "directions"):
        if field in fields:
            lines.extend(_story_lines(field, story))
    if lines:
        lines.append("moviecli story show prints it all; /undo reverts the latest change.")
    return lines


def _story_lines(field: str, story: dict[str, Any]) -> list[str]:
    if field in ("concept", "logline", "synopsis"):
        text = story.get(field)
        if not text:
            return [f"No {field} is recorded yet."]
        return [f"Your {field}: {quote(text, 600 if field == 'synopsis' else 300)}"]
    key = "name" if field == "characters" else "title" if field == "scenes" else "text"
    items = story.get(field) or []
    if not items:
        return [f"No {field} are recorded yet."]
    noun = field if len(items) != 1 else field[:-1]
    lines = [f"Your {len(items)} {noun}:"]
    for item in items[:20]:
        if field == "directions":
            step = STEPS.get(str(item.get("step")))
            where = step.title if step else str(item.get("step"))
            lines.append(f"- {where}: {quote(str(item.get('text', '')), 120)}")
            continue
        described = str(item.get("description") or "").strip()
        head = str(item.get(key, ""))
        lines.append(f"- {head}: {quote(described, 120)}" if described else f"- {head}")
    if len(items) > 20:
        lines.append(f"… and {len(items) - 20} more.")
    return lines


def _project_answer(found: set[str], story: dict[str, Any]) -> list[str]:
    """Title, genre and audience live on the project, not in the chat."""
    options = [option for word, option in _PROJECT.items() if word in found]
    if not options:
        return []
    return [
        f"Set it with moviecli project update {' / '.join(options)} (any time). Initial "
        "concept needs a title, a genre and a target audience before it can be completed."
    ]


def _change_answer(found: set[str], story: dict[str, Any]) -> list[str]:
    if not found & _CHANGE or found & {"step", "steps"}:
        return []
    return [
        "/undo reverts the latest change to the story (moviecli story undo), and again "
        "the one before. Sending 'Name: new description' updates a character; moviecli "
        "story set --remove-character NAME (or --remove-scene TITLE) removes one; a label "
        "('Concept: …', 'Synopsis: …') replaces that field."
    ]


def _attach_answer(facts: Facts) -> list[str]:
    step = facts.current_phase
    kinds = ", ".join(
        f"{family} → {infer_type(family, step)}" for family in ("image", "audio", "video")
    )
    return [
        "Attach a file with /attach FILE [TYPE] here, or moviecli chat --attach FILE "
        "[--attach-type TYPE]: images, audio and video files are accepted.",
        f"In {STEPS[step].title} a file without a type becomes: {kinds}.",
    ]


def _definitions(found: set[str]) -> list[str]:
    """The glossary entries of the words asked about ("a logline and a synopsis")."""
    return [
        text
        for term, text in GLOSSARY.items()
        if set(term.split()) <= found or term + "s" in found
    ][:3]


def _is_meaning(found: set[str], asked: list[str]) -> bool:
    """A question about a step ("what does visual design mean", "explain initial
    concept") rather than about a word."""
    whole_title = any(set(words(STEPS[step].title)) <= found for step in asked)
    return whole_title or (bool(asked) and bool(found & {"step", "phase", "mean", "means"}))


def _move_answer(
    facts: Facts, choices: Sequence[Choice], asked: list[str], found: set[str]
) -> list[str]:
    current = STEPS[facts.current_phase]
    done = set(facts.completed)
    lines = []
    if found & {"finish", "complete"} and facts.current_phase != LAST:
        lines.append(
            f"The workflow ends with {STEPS[LAST].title}, which needs {requirement(LAST)}; "
            "every step before it is completed on the way."
        )
    for step in asked:
        if step in done and step != facts.current_phase:
            lines.append(
                f"{STEPS[step].title} is completed: going back to it needs nothing "
                f"(--choice {step}, or type its number when it is offered)."
            )
    numbered = ", ".join(f"{n}. {c.title}" for n, c in enumerate(choices, start=1))
    lines.append(
        f"To move on, type the number of a choice (or moviecli chat --choice ID): {numbered}."
        if numbered
        else "The workflow is completed: there is nowhere to move."
    )
    if facts.current_phase not in done:
        lacking = missing(facts.current_phase, facts)
        if lacking:
            lines.append(
                f"Moving forward completes {current.title}, so it needs {'; '.join(lacking)} "
                "first: no step can be skipped."
            )
    return lines


def _done_answer(facts: Facts) -> list[str]:
    """Where the whole workflow stands ("is the project done?")."""
    done = len(set(facts.completed) & set(ORDER))
    if facts.workflow_completed:
        return [f"Yes: the workflow is completed ({facts.progress}%)."]
    return [
        f"Not yet: {done} of {len(ORDER)} steps are completed ({facts.progress}%); we are on "
        f"{STEPS[facts.current_phase].title}."
    ]


def requirement(step: str) -> str:
    """What completing ``step`` takes, in words ("a title, a genre, a target audience…")."""
    if step == "initial_concept":  # the step table says it with the seed's field names
        return "a title, a genre, a target audience and a concept"
    return STEPS[step].requirement


def _needs_answer(facts: Facts, steps: list[str]) -> list[str]:
    lines = []
    for step in steps:
        title = STEPS[step].title
        if step in facts.completed:
            lines.append(f"{title} is completed.")
            continue
        need = f"{title} needs {requirement(step)}"
        lacking = missing(step, facts)
        if step == facts.current_phase:  # the reply's own lines say what is still missing
            lines.append(f"{need}.")  # (and how to give it: no ASK line to repeat it)
            continue
        lines.append(
            f"{need}; still missing: {'; '.join(lacking)}."
            if lacking
            else f"{need}: it has everything it needs."
        )
    return lines


def _meaning(step: str, facts: Facts) -> list[str]:
    d = STEPS[step]
    done = set(facts.completed)
    if step in done:
        state = "completed"
    elif step == facts.current_phase:
        state = "the current step"
    else:
        unmet = [STEPS[p].title for p in d.prerequisites if p not in done]
        state = f"after {', '.join(unmet)}" if unmet else "open"
    return [
        f"{d.title} {d.icon} ({state}): {d.description} To complete it: {requirement(step)}.",
        ASK[step],
    ]


def _help_answer(facts: Facts) -> list[str]:
    step = STEPS[facts.current_phase]
    return [
        f"We are on {step.title}: {step.description} {ASK[step.id]}",
        "Ask me what a step needs ('what does this step need?'), what a phase means "
        "('explain visual design'), how to attach or move on, or what the story holds "
        "('what is my concept?'); /help lists the commands.",
    ]
