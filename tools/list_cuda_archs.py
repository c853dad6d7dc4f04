#!/usr/bin/env python3
"""Lists the GPU code objects embedded in a shared library (a stand-in for `cuobjdump --list-elf`
where the CUDA toolkit lacks it). Usage: tools/list_cuda_archs.py target/native-build/lib/librewardkit_cuda.so
Reads the .nv_fatbin section: each fat binary holds entries (kind 1 = PTX, 2 = ELF cubin) tagged with
the SM number; PTX entries are also scanned for their `.target` line (sm_90a vs sm_90)."""
import collections
import re
import struct
import subprocess
import sys
import tempfile

FATBIN_MAGIC = 0xBA55ED50


def main(path):
    with tempfile.NamedTemporaryFile() as tmp:
        subprocess.run(["objcopy", "-O", "binary", "--only-section=.nv_fatbin", path, tmp.name], check=True)
        data = open(tmp.name, "rb").read()
    if not data:
        sys.exit(f"{path}: no .nv_fatbin section (not built with nvcc?)")
    counts = collections.Counter()
    off = 0
    while off + 16 <= len(data):
        magic, _ver, hsize, fsize = struct.unpack_from("<IHHQ", data, off)
        if magic != FATBIN_MAGIC:
            off += 8
            continue
        p, end = off + hsize, off + hsize + fsize
        while p < end:
            kind, _unk, ehsize, psize = struct.unpack_from("<HHIQ", data, p)
            arch = struct.unpack_from("<I", data, p + 28)[0]
            payload = data[p + ehsize:p + ehsize + psize]
            target = ""
            m = re.search(rb"\.target (sm_[0-9a-z]+)", payload) if kind == 1 else None
            if m:
                target = " (" + m.group(1).decode() + ")"
            counts[f"{'PTX' if kind == 1 else 'ELF'} sm_{arch}{target}"] += 1
            p += ehsize + psize
        off = end
    for k, v in sorted(counts.items()):
        print(f"{v:4d}  {k}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/native-build/lib/librewardkit_cuda.so")
