"""One turn of the transcript: the prompt, each attempt with its candidates, and a status badge.

Code streams in through ``CandidateView.append``, which only buffers; the app flushes dirty
views on a timer (``flush``), so highlighting runs a few times a second, never per token.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from assistant.execution.result import ExecResult
from assistant.frontends.textview import diff_lines, result_lines

THEME = "ansi_dark"  # follows the terminal's palette, so it reads on dark and light themes


def code_renderable(code: str) -> RenderableType:
    if not code:
        return Text("…", style="dim")
    return Syntax(code.rstrip("\n"), "python", theme=THEME, background_color="default")


def output_renderable(result: ExecResult) -> RenderableType:
    text = Text()
    if result.stdout:
        text.append(result.stdout.rstrip("\n") + "\n")
    if result.stderr:
        text.append(result.stderr.rstrip("\n") + "\n", style="yellow")
    for shown in result.display:
        text.append(shown + "\n", style="cyan")
    if result.error is not None:
        tb = result.error.short_traceback() or result.error.summary()
        text.append(tb + "\n", style="red")
    elif result.status != "ok":
        text.append(f"{result.status}: {result.message}\n", style="red")
    if result.restarted:
        text.append("kernel restarted: all variables are gone\n", style="bold red")
    if not text.plain:
        text.append("(no output)", style="dim")
    text.rstrip()
    return text


class StatusBadge(Static):
    """running / passed / failed / refining attempt k of N / copy rejected."""

    STATES = ("running", "passed", "failed", "refining", "copy-rejected", "no-code", "cancelled")
    state = "running"
    label = "running"

    def set_state(self, state: str, label: str | None = None) -> None:
        self.state, self.label = state, label or state
        for s in self.STATES:
            self.set_class(s == state, f"-{s}")
        self.update(self.label)


class CandidateView(Vertical):
    """Code, diff against the previous attempt, kernel output and verdict of one candidate.

    Setters only record state and render when mounted (``on_mount`` renders what arrived
    before), because events can outrun the mounting of a freshly created view. The parts are
    held here, never looked up: a view removed (undo, retry) after it entered the DOM but
    before it composed gets its Mount without children (Textual refuses to mount into a
    widget being pruned), and a lookup would then raise ``NoMatches``.
    """

    def __init__(self, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index
        self.code = ""
        self.previous: str | None = None
        self.result: ExecResult | None = None
        self.verdict: tuple[bool, str] | None = None
        self.no_code = False  # the verdict is "no code" (not run), shown apart from errors
        self.label = ""  # what a pass rests on (checks.verdict_label)
        self.dirty = False
        self.rendered = False  # children exist: updates draw now (set in on_mount)
        self.rank: int | None = None
        self._code = Static(code_renderable(""), classes="code")
        self._diff = Static("", classes="diff")
        self._output = Static("", classes="output")
        self._verdict = Static("", classes="verdict")

    def compose(self) -> Any:
        yield from (self._code, self._diff, self._output, self._verdict)

    def on_mount(self) -> None:
        # ``is_mounted`` only turns true after this handler: use our own flag.
        self.rendered = True
        self._render_all()

    @property
    def diff_shown(self) -> bool:
        return self.previous is not None and self.previous != self.code

    def append(self, text: str) -> None:
        self.code += text
        self.dirty = True

    def flush(self) -> None:
        if self.dirty and self.rendered:
            self.dirty = False
            self._code.update(code_renderable(self.code))

    def set_code(self, code: str, previous: str | None = None) -> None:
        self.code, self.previous, self.dirty = code, previous, False
        self._render_all()

    def set_result(self, result: ExecResult) -> None:
        self.result = result
        self._render_all()

    def set_verdict(
        self, passed: bool, feedback: str, no_code: bool = False, label: str = ""
    ) -> None:
        self.verdict, self.no_code = (passed, feedback), no_code
        self.label = label
        self._render_all()

    def _render_all(self) -> None:
        if not self.rendered:
            return
        self._code.update(code_renderable(self.code))
        diff = self._diff
        if self.previous is not None and self.previous != self.code:
            lines = diff_lines(self.previous, self.code)
            diff.update(
                Group(
                    Text("changes against the previous attempt:", style="dim"),
                    Syntax("\n".join(lines[2:]), "diff", theme=THEME, background_color="default"),
                )
            )
        diff.display = self.diff_shown
        out = self._output
        out.display = self.result is not None
        if self.result is not None:
            out.update(output_renderable(self.result))
        verdict = self._verdict
        verdict.display = self.verdict is not None
        if self.verdict is not None:
            passed, feedback = self.verdict
            if passed:
                # Say what the pass rests on: "no checks" is not a green tick's worth.
                label = self.label or "checks passed"
                style = "yellow" if "no checks" in label else "green"
                verdict.update(Text("✓ " + label, style=style))
            elif self.no_code:
                verdict.update(Text("∅ no code: only comments or nothing; not run", style="yellow"))
            else:
                verdict.update(Text("✗ " + (feedback.strip() or "failed"), style="red"))


class _Growing(Vertical):
    """A container whose dynamic children may arrive before it has composed.

    Events can outrun mounting: a child added before ``compose`` ran is handed to compose
    (so it lands after the header widgets), later ones are mounted directly.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._later: list[Vertical] = []
        self._composed = False

    def header(self) -> list[Static | Horizontal]:
        return []

    def compose(self) -> Any:
        yield from self.header()
        yield from self._later
        self._composed = True

    def add(self, child: Vertical) -> None:
        if self._composed:
            self.mount(child)
        else:
            self._later.append(child)


class AttemptView(_Growing, can_focus=True):
    """One attempt; with several candidates, Left/Right browse them in ranked order."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "browse(-1)", "Prev candidate", show=False),
        Binding("right", "browse(1)", "Next candidate", show=False),
    ]

    def __init__(
        self,
        index: int,
        max_attempts: int,
        feedback: str = "",
        candidates: list[CandidateView] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.index = index
        self.max_attempts = max_attempts
        self.feedback = feedback
        self.order: list[int] = []  # candidate indices, best first (after ranking)
        self.scores: list[Any] = []
        self.shown = 0
        self.views: dict[int, CandidateView] = {}
        self.title = Static(self._title(""), classes="attempt-title")
        self.told = Static(Text("told: ", style="bold") + Text(feedback), classes="feedback")
        self.told.display = bool(feedback)
        self.bar = Static("", classes="candidates-bar")
        self.bar.display = False
        for view in candidates or []:
            self.views[view.index] = view
            self.add(view)

    def _title(self, note: str) -> str:
        base = f"attempt {self.index + 1} of {self.max_attempts}"
        return f"{base} · {note}" if note else base

    def header(self) -> list[Static | Horizontal]:
        return [self.title, self.told, self.bar]

    def on_mount(self) -> None:
        self._show()

    def candidate(self, index: int) -> CandidateView:
        view = self.views.get(index)
        if view is None:
            view = self.views[index] = CandidateView(index)
            self.add(view)
            self._show()
        return view

    def candidates(self) -> list[CandidateView]:
        return [self.views[i] for i in sorted(self.views)]

    def rank(self, order: list[int], scores: list[Any]) -> None:
        self.order, self.scores, self.shown = list(order), list(scores), 0
        self._show()

    def action_browse(self, step: int) -> None:
        if len(self.views) > 1:
            self.shown = (self.shown + step) % len(self.views)
            self._show()

    def _show(self) -> None:
        views = self.candidates()
        if len(views) <= 1:
            self.bar.display = False
            return
        order = self.order or [v.index for v in views]
        pos = self.shown % len(order)
        current = order[pos]
        for v in views:
            v.display = v.index == current
        score = self.scores[pos] if pos < len(self.scores) else None
        label = f"candidate {current + 1} · rank {pos + 1} of {len(views)}"
        if isinstance(score, float):
            label += f" · score {score:.3f}"
        elif score is not None:
            label += f" · score {score}"
        self.bar.update(Text(f"◀ {label} ▶  (click here, then ←/→ to browse)", style="bold"))
        self.bar.display = True

    def set_title_note(self, note: str) -> None:
        self.title.update(self._title(note))


class TurnView(_Growing):
    def __init__(
        self, index: int, text: str, attempts: list[AttemptView] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.index = index
        self.text = text
        self.badge = StatusBadge("running", classes="badge")
        self.attempts: dict[int, AttemptView] = {}
        for view in attempts or []:
            self.attempts[view.index] = view
            self.add(view)

    def header(self) -> list[Static | Horizontal]:
        nl = Static(Text(f"[{self.index + 1}] ", style="bold") + Text(self.text), classes="nl")
        return [Horizontal(nl, self.badge, classes="turn-head")]

    def attempt(self, index: int, max_attempts: int = 1, feedback: str = "") -> AttemptView:
        view = self.attempts.get(index)
        if view is None:
            view = self.attempts[index] = AttemptView(index, max_attempts, feedback)
            self.add(view)
        return view

    def previous_code(self, attempt: int) -> str | None:
        """The code the attempt before ``attempt`` showed (its best candidate)."""
        view = self.attempts.get(attempt - 1)
        if view is None:
            return None
        best = view.order[0] if view.order else 0
        cand = view.views.get(best)
        return cand.code if cand is not None else None


def plain_lines(result: ExecResult) -> list[str]:
    """For tests and the REPL: the same lines the output widget shows."""
    return result_lines(result)
