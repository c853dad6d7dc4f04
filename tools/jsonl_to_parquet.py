#!/usr/bin/env python3
"""Converts preference JSONL to Parquet (pyarrow) for RewardKit's reader benchmarks.

  python3 tools/jsonl_to_parquet.py IN.jsonl OUT.parquet [--repeat N] [--row_group_size R]

--repeat writes the records N times (a larger file with the same rows, for the memory check);
--row_group_size is rows per row group (1000, close to what datasets writes; pyarrow's default
would put a whole small file in one group).
"""
import argparse
import json

import pyarrow as pa
import pyarrow.parquet as pq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--row_group_size", type=int, default=1000)
    a = ap.parse_args()
    with open(a.src, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    table = pa.Table.from_pylist(rows)
    with pq.ParquetWriter(a.dst, table.schema, compression="snappy") as w:
        for _ in range(a.repeat):
            w.write_table(table, row_group_size=a.row_group_size)


if __name__ == "__main__":
    main()
