"""Benchmarks: scripts run by path (``python bench/bench_x.py``), importable as a package
(``from bench import bench_mtpb_table``) so tests exercise their figures without loading files
by path."""
