#!/usr/bin/env python3
"""Writes the small Parquet / Arrow fixtures of the columnar-reader tests (ColumnarReadersTest).

Each fixture holds the same records as the JSONL file next to it, written by pyarrow or by
datasets.save_to_disk, so a test can check that RewardKit prepares identical bytes from both.
Run from the repository root:  python3 tools/make_columnar_fixtures.py
(pyarrow and datasets are needed here only; the tests read the committed files.)
"""
import json
import pathlib
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

OUT = pathlib.Path("rewardkit-core/src/test/resources/columnar")

# Flat text pairs with a margin column; one record with non-ASCII text.
FLAT = [
    {"prompt": "What is 2+2?", "chosen": "4", "rejected": "5", "margin": 1.5},
    {"prompt": "Name a colour.", "chosen": "Blue.", "rejected": "Seven.", "margin": 0.0},
    {"prompt": "Translate 'cat' to German.", "chosen": "Katze", "rejected": "Hund", "margin": 2.0},
    {"prompt": "Ünïcödé prompt ✓", "chosen": "ja — genau", "rejected": "nein", "margin": 0.25},
    {"prompt": "Say hi.", "chosen": "Hi!", "rejected": "Goodbye.", "margin": 3.0},
]


def msgs(*pairs):
    return [{"role": r, "content": c} for r, c in pairs]


# UltraFeedback-binarized shape: prompt string, chosen/rejected full conversations, scores.
NESTED = [
    {"prompt": "Hi", "prompt_id": "a1",
     "chosen": msgs(("user", "Hi"), ("assistant", "Hello! How can I help?")),
     "rejected": msgs(("user", "Hi"), ("assistant", "Go away.")),
     "score_chosen": 8.0, "score_rejected": 2.0},
    {"prompt": "Sum 1..3", "prompt_id": "a2",
     "chosen": msgs(("user", "Sum 1..3"), ("assistant", "6")),
     "rejected": msgs(("user", "Sum 1..3"), ("assistant", "7")),
     "score_chosen": 9.5, "score_rejected": 4.0},
    {"prompt": "Multi-turn", "prompt_id": "a3",
     "chosen": msgs(("system", "Be brief."), ("user", "Capital of France?"), ("assistant", "Paris."),
                    ("user", "And of Italy?"), ("assistant", "Rome.")),
     "rejected": msgs(("system", "Be brief."), ("user", "Capital of France?"), ("assistant", "Paris."),
                      ("user", "And of Italy?"), ("assistant", "Madrid.")),
     "score_chosen": 7.0, "score_rejected": 6.5},
]

# Bad rows: row 1 lacks 'rejected' (null), row 2 has a number where text belongs.
BAD = [
    {"prompt": "ok", "chosen": "yes", "rejected": "no", "n": 0},
    {"prompt": "missing", "chosen": "yes", "rejected": None, "n": 1},
    {"prompt": "ok again", "chosen": "fine", "rejected": "bad", "n": 2},
]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_jsonl(OUT / "flat.jsonl", FLAT)
    pq.write_table(pa.Table.from_pylist(FLAT), OUT / "flat.parquet", compression="snappy")

    write_jsonl(OUT / "nested.jsonl", NESTED)
    # zstd + data page v2 + two row groups: the other codec and page kind, and a row-group boundary.
    pq.write_table(pa.Table.from_pylist(NESTED), OUT / "nested.parquet", compression="zstd",
                   data_page_version="2.0", row_group_size=2)

    pq.write_table(pa.Table.from_pylist(BAD), OUT / "bad.parquet", compression="none", use_dictionary=False)

    # The flat records plus columns no format reads: raw bytes that are not UTF-8 (like an image) and a
    # string. Neither may make a row bad, and neither changes the prepared bytes.
    extra = [dict(r, image=b"\x89PNG\xff\xfe" + bytes([i]), note=b"caf\xe9".decode("latin-1")) for i, r in enumerate(FLAT)]
    pq.write_table(pa.Table.from_pylist(extra), OUT / "flat_extra_columns.parquet", compression="snappy")

    import datasets
    disk = OUT / "nested_save_to_disk"
    shutil.rmtree(disk, ignore_errors=True)
    datasets.Dataset.from_list(NESTED).save_to_disk(str(disk))
    # A DatasetDict: one folder per split, chosen with --dataset_split.
    dd = OUT / "dict_save_to_disk"
    shutil.rmtree(dd, ignore_errors=True)
    datasets.DatasetDict({"train": datasets.Dataset.from_list(NESTED),
                          "test": datasets.Dataset.from_list(FLAT)}).save_to_disk(str(dd))
    for p in sorted(OUT.rglob("*")):
        if p.is_file():
            print(f"{p.stat().st_size:7d} {p}")


if __name__ == "__main__":
    main()
