"""Command line: ``assistant`` (TUI), ``repl``, ``acp``, ``demo``, ``replay``, ``eval``, ``export``, ``mtpb``.

Argument parsing lives here; each command's work lives in its own module, imported only when
that command runs, so ``assistant --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from assistant import __version__

DESCRIPTION = """\
A terminal programming assistant. Type a task one natural-language turn at a time; a local
model (GGUF via llama-cpp-python, or an OpenAI-compatible server) writes a short program for
each turn, which runs in a Jupyter kernel so state carries over like a notebook. Failing code
is refined with the error as feedback (every attempt shown). MTPB can be replayed and scored.

Models (--model): smollm2-135m | gemma3-270m (built-in, fetched once; `assistant models`) |
reference | scripted:FILE.json | PATH.gguf | hf:REPO/FILE.gguf | openai:http://HOST:PORT/v1#MODEL. Settings also come from the config file (TOML) and
ASSISTANT_* environment variables; see README.md.
"""

EPILOG = """\
examples:
  assistant demo                         watch a built-in problem solved turn by turn
  assistant --model smollm2-135m         interactive session (full-screen), built-in model
  assistant --model ~/models/coder.gguf  the same with your own GGUF
  assistant repl --model openai:http://127.0.0.1:8080/v1
  assistant acp --model smollm2-135m     agent mode for Zed, Toad, jupyter-ai (ACP on stdio)
  assistant replay 3                     step through MTPB problem 3 with reference code
  assistant eval --model reference       grade the reference solutions on all of MTPB
  assistant eval --model m.gguf -n 10 -k 1 5 10 --jobs 2 --out results.jsonl
  assistant --log-file run.log eval ...  kernel starts, restarts and deaths logged to run.log
"""

# The --log-level choices: assistant.logs.LEVELS, written out so that `--help` does not import
# logging (7 ms); tests/unit check the two agree.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _model_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and sampling")
    g.add_argument("--model", "-m", help="model spec (see above); default from config")
    g.add_argument(
        "--chat",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="use the model's chat template (instruct models)",
    )
    g.add_argument("--n-ctx", type=int, dest="n_ctx", help="context size in tokens")
    g.add_argument(
        "--gpu-layers",
        type=int,
        dest="n_gpu_layers",
        help="layers to offload to the GPU (-1 all, 0 none; default all if the build has GPU)",
    )
    g.add_argument("--threads", type=int, help="CPU threads for decoding")
    g.add_argument("--temperature", type=float)
    g.add_argument("--top-p", type=float, dest="top_p")
    g.add_argument("--max-tokens", type=int, dest="max_tokens", help="new tokens per turn")
    g.add_argument("--seed", type=int)
    g.add_argument("--candidates", type=int, help="candidates sampled and ranked per attempt")
    g.add_argument(
        "--attempts", type=int, help="attempts per turn: first try + refinements (default 3)"
    )
    g.add_argument(
        "--refine-prompt",
        dest="refine_prompt",
        choices=["auto", "plain", "primed", "hint", "retry"],
        help="refinement prompt: faulty code + feedback as comments/message (plain), in a "
        "docstring with the answer primed to start with code (primed), feedback without the "
        "faulty code (hint), or no feedback: a fresh sample (retry)",
    )
    g.add_argument(
        "--derived-checks",
        dest="derived_checks",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="check what each turn's words ask for (names, kinds of value, functions, spelled-out "
        "values, printing and printed values; default on)",
    )
    g.add_argument(
        "--prompt-state",
        dest="prompt_state",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the kernel's variables in interactive prompts (default: per prompt style)",
    )
    g.add_argument("--timeout", type=float, help="seconds per cell before interrupt/restart")
    g.add_argument("--kernel", help="Jupyter kernelspec to run code in (default: this Python)")
    g.add_argument("--workdir", help="working folder of the kernel (default: a scratch folder)")
    g.add_argument(
        "--sandbox",
        choices=["auto", "none", "bwrap"],
        help="run generated code under bubblewrap (auto: where it works, the default)",
    )
    g.add_argument("--config", help="config file (default: the user config dir's config.toml)")


def _log_flags(p: argparse.ArgumentParser, *, top: bool) -> None:
    """On the main parser and on every command, so both ``assistant --log-file X eval`` and
    ``assistant eval --log-file X`` work; a command's copy sets nothing unless given."""
    default = None if top else argparse.SUPPRESS
    g = p.add_argument_group("logging")
    g.add_argument(
        "--log-file",
        metavar="PATH",
        default=default,
        help="append the app's log (kernel starts, restarts and why, interrupts, deaths, "
        "timeouts, pool replacements) to PATH, with timestamps, levels and logger names; "
        "also ASSISTANT_LOG=PATH. It only adds the file: the terminal shows what it "
        "shows without it",
    )
    g.add_argument(
        "--log-level",
        metavar="LEVEL",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default,
        help="least severe records written: DEBUG, INFO (default), WARNING or ERROR; "
        "also ASSISTANT_LOG_LEVEL",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="assistant",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _model_flags(p)
    _log_flags(p, top=True)
    p.add_argument(
        "--resume",
        nargs="?",
        const="last",
        metavar="SESSION",
        help="resume a saved session (the last one, or by id/path)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("tui", help="full-screen interactive session (the default)")
    _model_flags(s)
    s.add_argument("--resume", nargs="?", const="last", metavar="SESSION")

    s = sub.add_parser("repl", help="line-mode interactive session (prompt-toolkit)")
    _model_flags(s)
    s.add_argument("--resume", nargs="?", const="last", metavar="SESSION")

    s = sub.add_parser(
        "acp",
        help="agent mode: speak the Agent Client Protocol on stdio (Zed, Toad, jupyter-ai)",
    )
    _model_flags(s)

    s = sub.add_parser("demo", help="teaching demo: a built-in problem solved turn by turn")
    _model_flags(s)
    s.add_argument(
        "--problem",
        default=None,
        help="play this MTPB problem instead of the built-in one (reference solutions "
        "unless --model is given)",
    )
    s.add_argument("--case", type=int, default=0, help="MTPB test case 0-4 with --problem")
    s.add_argument("--mtpb", help="path to mtpb.jsonl (with --problem)")
    s.add_argument("--fast", action="store_true", help="no pacing (for scripts and tests)")
    s.add_argument("--plain", action="store_true", help="print to stdout instead of the TUI")

    s = sub.add_parser("replay", help="step through one MTPB problem turn by turn")
    _model_flags(s)
    s.add_argument("problem", help="problem id (1-115)")
    s.add_argument("--mtpb", help="path to mtpb.jsonl (default: cached download or ../shared)")
    s.add_argument("--case", type=int, default=0, help="test case 0-4 (default 0)")
    s.add_argument("--all-cases", action="store_true", help="grade all 5 test cases")
    s.add_argument("--step", action="store_true", help="wait for Enter between turns")

    s = sub.add_parser("eval", help="score a model on MTPB (headless, resumable)")
    _model_flags(s)
    s.add_argument("--mtpb", help="path to mtpb.jsonl (default: cached download or ../shared)")
    s.add_argument("-n", "--samples", type=int, default=1, help="samples per problem and case")
    s.add_argument("-k", type=int, nargs="+", default=[1], help="k values for pass@k")
    s.add_argument("--jobs", "-j", type=int, default=2, help="programs graded in parallel")
    s.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="programs in flight at once for a server backend (requests to the model), "
        "independent of --jobs (default: --jobs; in-process models stay one at a time)",
    )
    s.add_argument(
        "--no-lineup",
        dest="lineup",
        action="store_false",
        help="with -n N on an in-process model: run the samples one after another instead of "
        "decoding their requests together in one llama.cpp batch per round",
    )
    s.add_argument(
        "--runtime",
        choices=["fork", "jupyter"],
        default="fork",
        help="run each program in a forked child of a warm server (default, fast) or in "
        "pooled Jupyter kernels",
    )
    s.add_argument("--out", help="results JSONL (appended; a rerun skips what is done)")
    s.add_argument("--problems", help="ids to run, e.g. '1-10,42' (default all)")
    s.add_argument(
        "--mode",
        choices=["multi", "single", "both"],
        default="multi",
        help="multi-turn prompts, the single-turn control, or both",
    )
    s.add_argument(
        "--upstream",
        action="store_true",
        help="grade like the upstream harness (dict/None outputs cannot pass)",
    )
    s.add_argument(
        "--refine",
        type=int,
        default=None,
        help="attempts per turn with refinement on errors (default 1: none)",
    )
    s.add_argument(
        "--logprobs",
        action="store_true",
        help="record token log-probs even with one candidate (default: only when a ranker "
        "reads them, --candidates > 1; slow on servers with big vocabularies)",
    )
    s.add_argument(
        "--similarity",
        action="store_true",
        help="also compute CodeBLEU syntax/data-flow match vs reference solutions",
    )
    s.add_argument(
        "--export-training",
        metavar="FILE",
        help="write CYCLE triples and ranked candidate lists as JSONL",
    )
    s.add_argument("--report", metavar="FILE", help="write the summary as JSON too")

    s = sub.add_parser("export", help="export a saved session as .ipynb, .py or training JSONL")
    s.add_argument("session", nargs="?", default="last", help="session id or path (default last)")
    s.add_argument("--to", dest="out", required=False, help="output file (.ipynb, .py or .jsonl)")
    s.add_argument("--format", choices=["ipynb", "py", "training"], default=None)

    s = sub.add_parser("sessions", help="list saved sessions")

    s = sub.add_parser("mtpb", help="MTPB data: download, check, list problems")
    msub = s.add_subparsers(dest="mtpb_command", metavar="ACTION", required=True)
    d = msub.add_parser("download", help="download mtpb.jsonl from its public URL")
    d.add_argument("--url", help="source URL (default: the CodeGen repository)")
    d.add_argument("--to", help="destination (default: the user cache dir)")
    c = msub.add_parser("check", help="validate an mtpb.jsonl file")
    c.add_argument("path", nargs="?")
    ls = msub.add_parser("list", help="list problems")
    ls.add_argument("--mtpb")

    s = sub.add_parser("models", help="list the built-in models (size, licence, cached or not)")
    s.add_argument("--fetch", metavar="NAME", help="download a built-in model now")

    s = sub.add_parser("info", help="show settings, paths, model backend and GPU support")
    _model_flags(s)
    for command in sub.choices.values():
        _log_flags(command, top=False)
    return p


# command name -> "module:function"; each function takes (args, settings) and returns an exit code
HANDLERS: dict[str, str] = {
    "tui": "assistant.frontends.tui.launch:main",
    "repl": "assistant.frontends.repl:main",
    "demo": "assistant.frontends.demo:main",
    "acp": "assistant.frontends.acp.cli:main",
    "replay": "assistant.mtpb.cli:replay",
    "eval": "assistant.mtpb.cli:evaluate",
    "mtpb": "assistant.mtpb.cli:data",
    "export": "assistant.sessions.export:main",
    "sessions": "assistant.sessions.export:list_sessions",
    "info": "assistant.info:main",
    "models": "assistant.models.builtin:main",
}

# Commands that load settings.model: a built-in model is fetched before they start, so its
# progress bar and any error show on the terminal (not under a full-screen UI).
_LOADS_MODEL = ("tui", "repl", "acp", "demo", "replay", "eval", "info")


def _prefetch(command: str, spec: str | None) -> int:
    if command not in _LOADS_MODEL or not spec:
        return 0
    from assistant.models.builtin import BUILTINS, cached_path, ensure

    entry = BUILTINS.get(spec.strip())
    if entry is None or cached_path(entry):
        return 0
    from assistant.models import ModelError

    size = f"{entry.size / 1e6:.0f} MB"
    print(f"assistant: fetching the built-in model {entry.name} ({size}, once)", file=sys.stderr)
    try:
        ensure(entry.name)
    except ModelError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 1
    return 0


def _handler(command: str) -> Callable[..., int]:
    mod, _, fn = HANDLERS[command].partition(":")
    return getattr(import_module(mod), fn)  # type: ignore[no-any-return,unused-ignore]


def _start_logging(args: argparse.Namespace, command: str) -> int:
    """The global logging switch (``--log-file`` or ``ASSISTANT_LOG``); 2 when it cannot be."""
    from assistant.logs import setup_from

    try:
        path = setup_from(args.log_file, args.log_level)
    except (OSError, ValueError) as exc:
        print(f"assistant: cannot write the log: {exc}", file=sys.stderr)
        return 2
    if path is not None:
        import logging

        # Named, not __name__: under `python -m assistant.cli` that is "__main__".
        logging.getLogger("assistant.cli").info("assistant %s: command %s", __version__, command)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from assistant.config import ConfigError, load
    from assistant.errors import AssistantError

    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "tui"
    if _start_logging(args, command):
        return 2
    overrides = {k: v for k, v in vars(args).items() if v is not None}
    try:
        from pathlib import Path

        settings = load(Path(args.config) if getattr(args, "config", None) else None, overrides)
    except ConfigError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    try:
        if _prefetch(command, settings.model):
            return 1
        return int(_handler(command)(args, settings) or 0)
    except AssistantError as exc:  # e.g. a bad --model in the REPL: the message, exit code 1
        print(f"assistant: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nassistant: interrupted", file=sys.stderr)
        return 130
    # Any other exception is a bug: it propagates and Python prints its traceback (exit 1).


if __name__ == "__main__":
    sys.exit(main())
