"""Benchmarks behind `scatterloop bench NAME`: each returns a JSON-ready dict of measured figures."""

from .classify_bench import bench_loop, bench_speckle, bench_train
from .embed_bench import bench_embed, bench_explore
from .fid_bench import bench_fid
from .generate_bench import bench_generate
from .io_bench import bench_import, bench_simulate
from .polar_bench import bench_polar
from .simreal_bench import bench_simreal

BENCHES = {
    "simulate": bench_simulate,
    "import": bench_import,
    "embed": bench_embed,
    "explore": bench_explore,
    "polar": bench_polar,
    "generate": bench_generate,
    "train": bench_train,
    "loop": bench_loop,
    "speckle": bench_speckle,
    "fid": bench_fid,
    "simreal": bench_simreal,
}

__all__ = ["BENCHES"]
