"""Benchmarks behind `scatterloop bench NAME`: each returns a JSON-ready dict of measured figures."""

from .embed_bench import bench_embed, bench_explore
from .io_bench import bench_import, bench_simulate

BENCHES = {"simulate": bench_simulate, "import": bench_import, "embed": bench_embed, "explore": bench_explore}

__all__ = ["BENCHES"]
