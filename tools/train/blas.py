"""CPU BLAS for training: Debian's python3-torch calls the system libblas.so.3, which is the slow
reference BLAS unless OpenBLAS is installed (`apt-get install libopenblas0-pthread` makes it the
libblas.so.3 alternative: ~10× faster matmuls on this machine). Training runs one thread per
process (two cores: one run beside other work, or two runs at once)."""
import os, time

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')   # read when libopenblas loads, i.e. at `import torch`

import torch  # noqa: E402


def gflops(n=384, reps=20):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - t) / 1e9


def single_thread(minimum=None):
    """One thread; warns (or, with `minimum` GFLOP/s, fails) when matmuls run at reference-BLAS speed."""
    torch.set_num_threads(1)
    g = gflops()
    slow = g < 10
    msg = f'blas: {g:.0f} GFLOP/s on one thread' + (
        ' (the reference BLAS? `apt-get install libopenblas0-pthread` makes training ~10x faster)' if slow else '')
    print(msg, flush=True)
    if minimum is not None and g < minimum:
        raise SystemExit(msg)
    return g
