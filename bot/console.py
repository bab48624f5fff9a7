"""The terminal face: the `/incident` parser, service and Block Kit renderers, flattened to text."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TextIO

from bot.domain.commands import Open, UsageError, parse
from bot.domain.incident import ACTOR_MAX, DESCRIPTION_MAX, Severity, clean_block, clean_line
from bot.service.incidents import (
    Details,
    FormWanted,
    HelpWanted,
    IncidentService,
    Listing,
    Opened,
    Refused,
    Result,
    Unchanged,
    Updated,
)
from bot.slack.blocks import (
    Block,
    describe,
    escape,
    help_text,
    parse_page_value,
    render_details,
    render_help,
    render_incident,
    render_list,
    store_problem,
)
from bot.slack.ids import BUTTON_COMMANDS, SLASH_COMMAND, ActionId
from bot.store.redis_store import StoreUnavailable

log = logging.getLogger(__name__)

PROMPT = "incident> "
QUIT_WORDS = frozenset({"quit", "exit", "q", ":q"})
DEFAULT_ACTOR = "console"

# The shortcodes the renderers use; any other `:name:` is left as typed.
EMOJI = {
    "warning": "⚠",
    "red_circle": "🔴",
    "large_orange_circle": "🟠",
    "white_check_mark": "✅",
    "tada": "🎉",
    "rotating_light": "🚨",
}
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_ANGLE = re.compile(r"<([^<>]+)>")
_BROADCASTS = frozenset({"here", "channel", "everyone"})
_FIELD = re.compile(r"^\*([^*\n]+)\*\n(.*)$", re.DOTALL)
_SLASH = re.compile(rf"^{re.escape(SLASH_COMMAND)}(?:\s+|$)", re.IGNORECASE)
_CHOICE_NUMBER = re.compile(r"[0-9]{1,4}")


class Choice(NamedTuple):
    """A button as a numbered choice: what it says, its action_id and its value."""

    label: str
    action_id: str
    value: str


def _emoji(text: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def _angle(match: re.Match[str]) -> str:
    """One `<…>` of mrkdwn as a reader sees it in Slack: mentions, dates and links."""
    target, _, label = match.group(1).partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        name = target[1:].partition("^")[0]
        if name in _BROADCASTS:
            return "@" + name
        return label or "@" + target[1:]
    return f"{label} ({target})" if label and label != target else target


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn as terminal text; entities are decoded last so user text shows verbatim."""
    text = _emoji(_ANGLE.sub(_angle, text))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_object(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    text = str(obj.get("text", ""))
    # plain_text is shown by Slack exactly as sent (no entities, no mentions), emoji aside.
    return mrkdwn_to_text(text) if obj.get("type") == "mrkdwn" else _emoji(text)


def _field(obj: dict[str, Any]) -> str:
    text = _text_object(obj)
    match = _FIELD.match(text)
    return f"{match.group(1)}: {match.group(2)}" if match else text


def flatten(blocks: list[Block]) -> tuple[str, list[Choice]]:
    """Block Kit as readable text, with every button listed and numbered from 1 in order."""
    lines: list[str] = []
    choices: list[Choice] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text_object(block.get("text"))
            lines += [title, "=" * min(len(title), 72)]
        elif kind == "section":
            if block.get("text"):
                lines.append(_text_object(block["text"]))
            lines += [_field(f) for f in block.get("fields", [])]
        elif kind == "context":
            parts = (
                str(e.get("alt_text", "")) if e.get("type") == "image" else _text_object(e)
                for e in block.get("elements", [])
            )
            lines.append("  ".join(p for p in parts if p))
        elif kind == "divider":
            lines.append("-" * 20)
        elif kind == "actions":
            shown = []
            for element in block.get("elements", []):
                if element.get("type") != "button":
                    continue
                label = _text_object(element.get("text"))
                choices.append(Choice(label, str(element["action_id"]), str(element["value"])))
                shown.append(f"[{len(choices)}] {label}")
            if shown:
                lines.append("   ".join(shown))
    return "\n".join(lines), choices


@dataclass
class _Form:
    """A bare `open` asks in the terminal what Slack's modal asks; `title` None: not given yet."""

    severity: Severity
    title: str | None = None
    severity_given: bool = False


class Console:
    """One terminal session: `handle` runs a line and returns what to print."""

    def __init__(
        self,
        service: IncidentService,
        user: str = DEFAULT_ACTOR,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._service = service
        self.actor = clean_line(user)[:ACTOR_MAX] or DEFAULT_ACTOR
        self._clock = clock
        self._choices: list[Choice] = []
        self._form: _Form | None = None
        self.done = False

    @property
    def prompt(self) -> str:
        form = self._form
        if form is None:
            return PROMPT
        if form.title is None:
            return "Title (empty cancels): "
        if not form.severity_given:
            return f"Severity, sev1 (critical) to sev4 (low) [{form.severity.value}]: "
        return "Description (optional): "

    @property
    def choices(self) -> list[Choice]:
        return list(self._choices)

    async def handle(self, line: str) -> str:
        """Run one input line; Redis being down becomes the same one line as in Slack."""
        try:
            if self._form is not None:
                return await self._fill_form(line)
            return await self._line(line.strip())
        except StoreUnavailable as error:
            self._form = None
            return mrkdwn_to_text(store_problem(error))

    async def _line(self, text: str) -> str:
        if not text:
            return ""
        if text.lower() in QUIT_WORDS:
            self.done = True
            return "Bye."
        if _CHOICE_NUMBER.fullmatch(text):
            return await self._press(int(text))
        return await self._command(_SLASH.sub("", text, count=1))

    async def _command(self, text: str) -> str:
        parsed = parse(text)
        if isinstance(parsed, UsageError):
            return mrkdwn_to_text(help_text(parsed.message))
        return await self._show(await self._service.execute(parsed, self.actor, None))

    async def _press(self, number: int) -> str:
        if not self._choices:
            return "There is nothing to press yet; a number picks a button of the last message."
        if not 1 <= number <= len(self._choices):
            return f"Choose a button from 1 to {len(self._choices)}."
        choice = self._choices[number - 1]
        if choice.action_id == ActionId.LIST_PAGE:
            page = parse_page_value(choice.value)
            if page is None:
                return "That button is out of date; type `list` again."
            return await self._show(await self._service.list(page[0], before=page[1]))
        template = BUTTON_COMMANDS.get(choice.action_id)
        if template is None:
            return f"The console cannot press {choice.label!r}."
        command = template.format(choice.value)
        return f"> {command}\n{await self._command(command)}"

    def _message(self, blocks: list[Block]) -> str:
        text, self._choices = flatten(blocks)
        return text

    async def _show(self, result: Result) -> str:
        now = self._clock()
        match result:
            case HelpWanted():
                return self._message(render_help())
            case FormWanted(severity=severity):
                self._form = _Form(severity)
                return "Opening an incident: answer three questions (an empty title cancels)."
            case Listing():
                return self._message(render_list(result, now))
            case Details():
                return self._message(render_details(result, now))
            case Opened() | Updated() | Unchanged() | Refused():
                feedback = mrkdwn_to_text(describe(result))
                if result.incident is None:
                    return feedback
                return f"{feedback}\n\n{self._message(render_incident(result.incident, now))}"
        raise AssertionError(result)  # pragma: no cover — the match above is exhaustive

    async def _fill_form(self, line: str) -> str:
        form = self._form
        assert form is not None
        title = form.title
        if title is None:
            # The same grammar as `open sevN <title>`, so the limits and messages are the same.
            parsed = parse(f"open {form.severity.value} {line}")
            if isinstance(parsed, UsageError):
                return mrkdwn_to_text(escape(parsed.message))
            if not isinstance(parsed, Open) or parsed.title is None:
                self._form = None
                return "Cancelled; nothing was opened."
            form.title = parsed.title
            return ""
        if not form.severity_given:
            word = line.strip().lower()
            chosen = next((s for s in Severity if s.value == word), None)
            if word and chosen is None:
                return "Choose one of " + ", ".join(s.value for s in Severity) + "."
            form.severity, form.severity_given = chosen or form.severity, True
            return ""
        description = clean_block(line)
        if len(description) > DESCRIPTION_MAX:
            return f"Keep the description within {DESCRIPTION_MAX} characters."
        self._form = None
        opened = await self._service.open(
            title, form.severity, self.actor, None, description=description
        )
        return await self._show(opened)


class LineReader:
    """stdin read on a daemon thread, so a blocked read never holds up the loop or the exit."""

    def __init__(self, stdin: TextIO) -> None:
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._pump, args=(stdin,), daemon=True, name="console").start()

    def _pump(self, stdin: TextIO) -> None:
        while True:
            line = stdin.readline()
            try:
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            except RuntimeError:
                return  # the loop has closed: the session is over
            if not line:
                return

    def interrupt(self) -> None:
        """End the session as end of input does (for Ctrl-C); call it on the loop's thread."""
        self._lines.put_nowait("")

    async def readline(self) -> str:
        """The next line with its newline; "" at the end of input."""
        return await self._lines.get()


async def repl(console: Console, reader: LineReader, stdout: TextIO, *, echo: bool = False) -> None:
    """Prompt, read, handle, print until quit or end of input; `echo` repeats piped input."""
    stdout.write(
        f"IncidentWatch console: you act as {console.actor}. Type `help` for the commands, "
        "the number of a [button] to press it, `quit` to leave.\n"
    )
    while not console.done:
        stdout.write(console.prompt)
        stdout.flush()
        line = await reader.readline()
        if not line:
            stdout.write("\n")
            break
        if echo:
            stdout.write(line if line.endswith("\n") else line + "\n")
        try:
            output = await console.handle(line)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("unexpected error ref=%s", ref)
            output = f"Something went wrong (ref {ref}). Please try again."
        if output:
            stdout.write(output + "\n\n")
    stdout.flush()
