#!/usr/bin/python3
"""Every C++ block in the given markdown files must be taken from a source
file that CI compiles: the line right before its ```cpp fence names the file
(`<!-- from examples/NAME.cpp -->`), and the block's lines must appear in
that file as one run of consecutive lines (the block may drop a common
indentation). A block edited in the README alone, or an example changed
without its README excerpt, fails this test.

    check_snippets.py ROOT FILE.md...
"""
import re
import sys

FROM = re.compile(r"^<!-- from (\S+) -->$")


def blocks(text):
    """(source named before the block or None, block lines, line number) of each ```cpp block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```cpp":
            m = FROM.match(lines[i - 1].strip()) if i > 0 else None
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            yield (m.group(1) if m else None), lines[i + 1:j], i + 1
            i = j
        i += 1


def found_in(block, source):
    """True when `block` is a run of consecutive lines of `source`, allowing
    the source's lines to carry one extra common indentation."""
    src = [l.rstrip() for l in source.splitlines()]
    want = [l.rstrip() for l in block]
    if not want:
        return False
    first = want[0]
    for i, line in enumerate(src):
        if not line.endswith(first) or not line[:len(line) - len(first)].strip() == "":
            continue
        indent = line[:len(line) - len(first)]
        if i + len(want) > len(src):
            continue
        if all(src[i + k] == ((indent + w) if w else "") for k, w in enumerate(want)):
            return True
    return False


def main():
    root, files = sys.argv[1], sys.argv[2:]
    problems = []
    count = 0
    for md in files:
        with open(f"{root}/{md}", encoding="utf-8") as f:
            text = f.read()
        for source, block, line in blocks(text):
            count += 1
            where = f"{md}:{line}"
            if source is None:
                problems.append(f"{where}: no <!-- from FILE --> line before the ```cpp block")
                continue
            if not source.startswith(("examples/", "tests/")):
                problems.append(f"{where}: {source} is not an example or a test (not compiled)")
                continue
            try:
                with open(f"{root}/{source}", encoding="utf-8") as f:
                    code = f.read()
            except OSError as e:
                problems.append(f"{where}: {source}: {e.strerror}")
                continue
            if not found_in(block, code):
                problems.append(f"{where}: the block is not a run of lines of {source}")
    for p in problems:
        print(f"check_snippets: {p}")
    if problems:
        sys.exit(1)
    if count == 0:
        print("check_snippets: no ```cpp blocks found (wrong files?)")
        sys.exit(1)
    print(f"check_snippets: {count} blocks, each found in its source")


if __name__ == "__main__":
    main()
