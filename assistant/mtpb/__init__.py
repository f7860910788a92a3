"""The Multi-Turn Programming Benchmark (MTPB, CodeGen paper): problems, grading, metrics, eval.

* ``problems``  load and validate ``mtpb.jsonl``, fill prompt templates like upstream
* ``download``  fetch ``mtpb.jsonl`` from its public URL (sha256-checked)
* ``grading``   the upstream equivalence rules, plus correct dict/None grading
* ``metrics``   unbiased pass@k per problem, category and overall
* ``reference`` the reference solutions as a model (``--model reference``)
* ``upstream``  upstream's exact prompt bytes, truncation and grading (``eval --upstream``)
* ``runner``    headless, parallel, resumable evaluation (``engine_run``: one job on the engine)
* ``play``      one problem turn by turn in an interactive session (TUI ``/mtpb``, demo)
* ``replay``    ``assistant replay``: one problem, prompts, code, output and verdict
* ``report``    summary tables (text and JSON)
* ``refinement_metrics``  refinement success per attempt, copy and no-code rates, ranked pass@k
* ``similarity``, ``extras``  CodeBLEU-style similarity to the references, training exports
* ``cli``       the ``replay``, ``eval`` and ``mtpb`` command handlers

Nothing heavy is imported here: the CLI imports submodules when a command runs.
"""
