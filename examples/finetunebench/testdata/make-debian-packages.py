#!/usr/bin/env python3
"""Builds debian-packages.tsv: short descriptions of Debian packages labeled
by their archive section, for the text benchmark of finetunebench.

Reads the package lists apt already has (apt-cache dumpavail; no network),
keeps 12 topical sections, and takes, per section, the 100 packages whose
SHA-256 of the name sorts first (a fixed, reproducible sample), skipping
descriptions already taken. The package name is not part of the text (it
often spells the section out, as in fonts-*). Run from this directory:

    python3 make-debian-packages.py > debian-packages.tsv
"""
import hashlib
import subprocess

SECTIONS = ["database", "editors", "electronics", "fonts", "games", "graphics",
            "hamradio", "mail", "math", "science", "sound", "video"]
PER_SECTION = 100

def records(text):
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.split("\n"):
            if line.startswith((" ", "\t")) and key:
                continue  # continuation lines (long fields) are not needed
            if ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            yield fields

dump = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
by_section = {s: {} for s in SECTIONS}
for r in records(dump):
    section = r.get("Section", "")
    desc = r.get("Description", "").replace("\t", " ")
    if section in by_section and desc:
        by_section[section][r["Package"]] = desc

print("package\tsection\tdescription")
for section in SECTIONS:
    names = sorted(by_section[section], key=lambda n: hashlib.sha256(n.encode()).hexdigest())
    seen, kept = set(), 0
    for name in names:
        desc = by_section[section][name]
        if desc.lower() in seen:
            continue
        seen.add(desc.lower())
        print(f"{name}\t{section}\t{desc}")
        kept += 1
        if kept == PER_SECTION:
            break
