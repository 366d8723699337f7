"""What a benchmark's JSON records of the CPU it ran on, from /proc/cpuinfo (empty where
there is none: off Linux). Imported by the scripts beside it (experiments/ is not a package)."""
import pathlib
import platform


def cpu_model():
    """The CPU's model name ("AMD EPYC ..."), else platform.processor()."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def cpu_flags():
    """The CPU's feature flags ({"avx2", "avx512f", ...}), empty where /proc/cpuinfo is missing."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()
