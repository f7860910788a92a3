"""The Multi-Turn Programming Benchmark (MTPB, CodeGen paper): problems, grading, metrics, eval.

* ``problems``  load and validate ``mtpb.jsonl``, fill prompt templates like upstream
* ``download``  fetch ``mtpb.jsonl`` from its public URL (sha256-checked)
* ``grading``   the upstream equivalence rules, plus correct dict/None grading
* ``metrics``   unbiased pass@k per problem, category and overall
* ``reference`` the reference solutions as a model (``--model reference``)
* ``runner``    headless, parallel, resumable evaluation
* ``report``    summary tables (text and JSON)
* ``commands``  the ``replay``, ``eval`` and ``mtpb`` command handlers

Nothing heavy is imported here: the CLI imports submodules when a command runs.
"""
