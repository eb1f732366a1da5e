#!/usr/bin/python3
"""Turn the raw Debian texts (see fetch_corpus.sh) into prose paragraphs and a deterministic split.

Documents: the 66 books of the KJV (in canonical order) and Jane Austen's six novels (in order of
publication). Paragraphs:
  * KJV: one paragraph per chapter, the verses of the chapter joined by single spaces, with the
    verse references removed ("Ge1:1 In the beginning ..." -> "In the beginning ...").
  * Austen: the blank-line separated paragraphs of the Project Gutenberg text that janeaustenr
    ships, each re-joined onto one line; runs of spaces are collapsed and the underscores that
    mark italics (_word_) are removed. Chapter headings ("CHAPTER 1") stay as short paragraphs.
Split (recorded in manifest.json): the paragraphs of each source (KJV, Austen) are numbered from
0 in document order; paragraph k is validation if k % 20 == 19 (5%), otherwise training.
Outputs:
  train.jsonl  one JSON object per document: {"source", "doc", "text"} (paragraphs joined by
               "\n\n"); this is what tools/train reads, one token stream per document
  train.txt    the same text, documents separated by "\n\n"
  valid.txt    the validation paragraphs of all documents, joined by "\n\n", ending with "\n"
  manifest.json  counts, split rule, package versions, sha256 of the outputs
"""
import argparse
import hashlib
import json
import os
import re

KJV_BOOKS = [
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth",
    "1 Samuel", "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra",
    "Nehemiah", "Esther", "Job", "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon",
    "Isaiah", "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos",
    "Obadiah", "Jonah", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Zechariah",
    "Malachi", "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "1 Corinthians",
    "2 Corinthians", "Galatians", "Ephesians", "Philippians", "Colossians", "1 Thessalonians",
    "2 Thessalonians", "1 Timothy", "2 Timothy", "Titus", "Philemon", "Hebrews", "James",
    "1 Peter", "2 Peter", "1 John", "2 John", "3 John", "Jude", "Revelation",
]
AUSTEN = [
    ("sensesensibility", "Sense and Sensibility"),
    ("prideprejudice", "Pride and Prejudice"),
    ("mansfieldpark", "Mansfield Park"),
    ("emma", "Emma"),
    ("northangerabbey", "Northanger Abbey"),
    ("persuasion", "Persuasion"),
]
VALID_EVERY = 20
VALID_REMAINDER = 19

REF = re.compile(r"^(\S+?)(\d+):(\d+) (.*)$")


def kjv_documents(path):
    """[(book name, [chapter paragraphs])] from `bible -f` output."""
    books = []  # (abbrev, {chapter: [verses]})
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = REF.match(line)
            if not m:
                raise ValueError("unexpected KJV line: %r" % line[:80])
            abbr, ch, verse, text = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
            if not books or books[-1][0] != abbr:
                books.append((abbr, []))
            chapters = books[-1][1]
            if ch != len(chapters):
                if ch != len(chapters) + 1:
                    raise ValueError("chapter gap at %s" % line[:20])
                chapters.append([])
            chapters[-1].append(" ".join(text.split()))
    if len(books) != len(KJV_BOOKS):
        raise ValueError("expected 66 books, got %d" % len(books))
    return [(name, [" ".join(vs) for vs in chs]) for name, (_, chs) in zip(KJV_BOOKS, books)]


def austen_paragraphs(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    paras, cur = [], []
    for line in lines + [""]:
        if line.strip():
            cur.append(line.strip())
        elif cur:
            text = " ".join(" ".join(cur).replace("_", "").split())
            if text:
                paras.append(text)
            cur = []
    return paras


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    docs = [("kjv", name, paras) for name, paras in kjv_documents(os.path.join(a.raw, "kjv.txt"))]
    docs += [("austen", title, austen_paragraphs(os.path.join(a.raw, "austen_%s.txt" % key)))
             for key, title in AUSTEN]

    counters = {}
    stats = {}
    train_docs, valid_paras = [], []
    for source, name, paras in docs:
        tr = []
        for p in paras:
            k = counters.get(source, 0)
            counters[source] = k + 1
            s = stats.setdefault(source, {"paragraphs": 0, "valid_paragraphs": 0, "train_chars": 0, "valid_chars": 0})
            s["paragraphs"] += 1
            if k % VALID_EVERY == VALID_REMAINDER:
                valid_paras.append(p)
                s["valid_paragraphs"] += 1
                s["valid_chars"] += len(p)
            else:
                tr.append(p)
                s["train_chars"] += len(p)
        if tr:
            train_docs.append({"source": source, "doc": name, "text": "\n\n".join(tr)})

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "train.jsonl"), "w", encoding="utf-8") as f:
        for d in train_docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(os.path.join(a.out, "train.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(d["text"] for d in train_docs) + "\n")
    with open(os.path.join(a.out, "valid.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(valid_paras) + "\n")

    versions = {}
    vpath = os.path.join(a.raw, "versions.txt")
    if os.path.exists(vpath):
        for line in open(vpath):
            if line.strip():
                k, v = line.split()
                versions[k] = v
    manifest = {
        "split": "paragraphs of each source numbered from 0 in document order; k %% %d == %d -> valid"
                 % (VALID_EVERY, VALID_REMAINDER),
        "paragraph": {"kjv": "one chapter (verses joined by spaces, references removed)",
                      "austen": "one Gutenberg paragraph re-joined onto one line, underscores removed"},
        "documents": [d for _, d, _ in docs],
        "stats": stats,
        "debian_packages": versions,
        "sha256": {n: sha256(os.path.join(a.out, n)) for n in ("train.jsonl", "train.txt", "valid.txt")},
    }
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps(manifest["stats"]))


if __name__ == "__main__":
    main()
