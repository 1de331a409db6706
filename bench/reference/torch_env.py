"""The environment PyTorch's side of a benchmark runs in. Debian's python3-torch loads BLAS through the
libblas.so.3 alternative, which defaults to OpenBLAS's pthread build; inside PyTorch's OpenMP thread team
that build oversubscribes the cores (an MLP VAE step measured 80 ms instead of 21 ms here). Putting the
OpenMP build first on the library path gives PyTorch the same BLAS trifecta links, its best configuration."""
import os

OPENMP_OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


def torch_env(threads, base=None):
    env = dict(base if base is not None else os.environ, OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads))
    if os.path.isdir(OPENMP_OPENBLAS):
        env["LD_LIBRARY_PATH"] = OPENMP_OPENBLAS + os.pathsep + env.get("LD_LIBRARY_PATH", "")
    return env
