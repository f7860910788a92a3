"""The engine: one turn from natural language to committed code, UI-agnostic.

``engine.Engine`` owns a session and a kernel; ``loop`` drives a turn's attempts (CYCLE-style
refinement) and the ranking of sampled candidates; ``ranking``, ``copies``, ``checks``,
``prompting`` and ``truncation`` are pure helpers; ``events`` is everything the engine reports.
It never imports a front end, the MTPB harness or Textual.
"""
