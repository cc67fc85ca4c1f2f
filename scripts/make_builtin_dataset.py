#!/usr/bin/env python3
"""Builds AERec's built-in dataset: the 10-core subset of MovieTweetings (100K snapshot).

    python3 scripts/make_builtin_dataset.py [SOURCE_DIR] [OUT_DIR]

SOURCE_DIR defaults to ../shared/data/movietweetings-100k (ratings.tsv.gz + SOURCE_LICENSE.txt),
OUT_DIR to data/movietweetings-10core. The filter: keep every rating (no threshold), then drop
users and items with fewer than 10 ratings, repeatedly, until every remaining user and item has
at least 10 (the 10-core). Rows keep their source order and their ids (IMDb ids keep their
leading zeros). The gzip output is deterministic (mtime 0, level 9, no file name), so re-running
gives a byte-identical file. Standard library only.
"""
import collections
import gzip
import hashlib
import io
import os
import shutil
import sys

K = 10


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "..", "shared", "data", "movietweetings-100k")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(repo, "data", "movietweetings-10core")

    with gzip.open(os.path.join(src, "ratings.tsv.gz"), "rt", encoding="utf-8", newline="\n") as f:
        lines = f.read().split("\n")
    header, body = lines[0], [l for l in lines[1:] if l]
    assert header.split("\t") == ["user", "item", "rating", "timestamp"], header
    rows = [l.split("\t") for l in body]
    source_rows = len(rows)
    source_users = len({r[0] for r in rows})
    source_items = len({r[1] for r in rows})
    assert len({(r[0], r[1]) for r in rows}) == source_rows, "duplicate (user, item) pairs in the source"

    rounds = 0
    while True:
        rounds += 1
        uc = collections.Counter(r[0] for r in rows)
        ic = collections.Counter(r[1] for r in rows)
        kept = [r for r in rows if uc[r[0]] >= K and ic[r[1]] >= K]
        if len(kept) == len(rows):
            break
        rows = kept

    users = {r[0] for r in rows}
    items = {r[1] for r in rows}
    text = header + "\n" + "".join("\t".join(r) + "\n" for r in rows)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as g:
        g.write(text.encode("utf-8"))
    data = buf.getvalue()

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "ratings.tsv.gz"), "wb") as f:
        f.write(data)
    shutil.copyfile(os.path.join(src, "SOURCE_LICENSE.txt"), os.path.join(out, "LICENSE"))

    ratings = collections.Counter(int(r[2]) for r in rows)
    ts = [int(r[3]) for r in rows]
    print(f"source: {source_rows} ratings, {source_users} users, {source_items} items")
    print(f"{K}-core after {rounds} passes: {len(rows)} ratings, {len(users)} users, {len(items)} items, "
          f"density {len(rows) / (len(users) * len(items)):.5f}")
    print("rating histogram:", " ".join(f"{k}:{ratings[k]}" for k in sorted(ratings)))
    print(f"timestamps {min(ts)} .. {max(ts)}")
    print(f"ratings.tsv.gz: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
