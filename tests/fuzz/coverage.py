#!/usr/bin/env python3
"""Line coverage of each parser from its fuzz corpus (tools/fuzz.sh --coverage runs this).

For every harness: the profile its standalone build wrote while replaying the corpus
(build/fuzz-coverage/profiles/NAME.profdata), the source files of the parser it targets, and the
line coverage of each, from `llvm-cov export`. Where a file also holds code that is not a parser of
outside bytes (the model file's writers, IDX's writer, a folder listing), a second figure counts
only the parser's functions; the functions left out are listed. The tables below name files by
pattern so that they keep matching after lib/ is reorganised; a pattern that matches nothing is
reported.

  coverage.py --build build/fuzz-coverage --profiles DIR [--uncovered] [NAME...]
"""
import argparse
import json
import os
import re
import subprocess
import sys

# Functions that write files or serve other purposes, left out of the "parser" figure.
MODEL_WRITERS = (r"Save|Write|StoreElements|ShortestDoubles|BaseMetadata|GoldenMetadata|"
                 r"QuantizationMetadata|HoistNumberArrays|(?<!Check)MetadataText|AddGoldenTensors|ForSave|"
                 r"RoundUp|(?<!MetadataReader::)NumberOrNull(\[abi:cxx11\])?\(double\)")

# harness -> [(file regex, "exclude" or "include", function regex or None[, other harnesses whose
# inputs reach the same file, counted together])]
TARGETS = {
    "model_file": [
        (r"lib/src/.*(model_file|container|metadata|loader)[^/]*\.cc$", "exclude", MODEL_WRITERS),
        (r"lib/src/.*json_util\.cc$", "exclude", None),
    ],
    "safetensors": [
        (r"lib/src/.*safetensors[^/]*\.cc$", "exclude", r"Export|StoreFloats"),
        (r"lib/src/.*json_util\.cc$", "exclude", None),
    ],
    "idx": [
        (r"lib/src/.*idx[^/]*\.cc$", "exclude",
         r"WriteIdx|StoreBigEndian32|SelectLabels|Head\(|LoadMnist|JoinPath"),
        (r"lib/src/.*gzip\.cc$", "exclude", None),
    ],
    "image": [
        (r"lib/src/.*image_read[^/]*\.cc$", "exclude",
         r"ListImageFiles|IsDirectory|HasImageExtension"),
    ],
    "frames": [(r"lib/src/.*frames[^/]*\.cc$", "exclude", None)],
    # The model harness sets up handlers for the models it loads (`serve --model`): Create's checks.
    "digit_handler": [(r"firmware/digits/serve/handler\.cc$", "exclude", None, ["model_file"])],
    "options": [
        (r"lib/src/.*score[^/]*\.cc$", "include", r"ParseScoreMethod|ScoreMethodName|ScoreSamples"),
        (r"firmware/digits/framebuffer\.cc$", "include",
         r"ParseFramebufferFormat|StandardFramebufferFormat"),
    ],
}


def FunctionName(demangled):
    """'edgevae::(anonymous namespace)::SaveF32(std::string const&, ...)' -> 'SaveF32'."""
    name = demangled.replace("(anonymous namespace)", "")
    name = re.sub(r"\(.*", "", name)
    return name.split("::")[-1] or demangled


def demangle(names):
    if not names:
        return []
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return out


def export(binaries, profdata):
    objects = [binaries[0]] + [a for b in binaries[1:] for a in ("-object", b)]
    text = subprocess.run(["llvm-cov-14", "export", "-format=text"] + objects +
                          ["-instr-profile=" + profdata],
                          capture_output=True, text=True, check=True).stdout
    return json.loads(text)["data"][0]


def merged_profile(profiles_dir, names):
    """The profile of several harnesses' runs together (llvm-profdata merge)."""
    if len(names) == 1:
        return os.path.join(profiles_dir, names[0] + ".profdata")
    out = os.path.join(profiles_dir, "+".join(names) + ".profdata")
    subprocess.run(["llvm-profdata-14", "merge", "-sparse", "-o", out] +
                   [os.path.join(profiles_dir, n + ".profdata") for n in names], check=True)
    return out


def line_hits(binaries, profdata, root):
    """file -> {line: count}, from llvm-cov's lcov export (the line counts `llvm-cov show` has)."""
    objects = [binaries[0]] + [a for b in binaries[1:] for a in ("-object", b)]
    text = subprocess.run(["llvm-cov-14", "export", "-format=lcov"] + objects +
                          ["-instr-profile=" + profdata],
                          capture_output=True, text=True, check=True).stdout
    out, current = {}, None
    for line in text.splitlines():
        if line.startswith("SF:"):
            current = out.setdefault(os.path.relpath(os.path.realpath(line[3:]), root), {})
        elif line.startswith("DA:") and current is not None:
            number, count = line[3:].split(",")[:2]
            current[int(number)] = int(count)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--profiles", required=True)
    ap.add_argument("--uncovered", action="store_true", help="list the parser lines not reached")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    names = args.names or list(TARGETS)
    rows = []
    for name in names:
        profdata = os.path.join(args.profiles, name + ".profdata")
        if not os.path.exists(profdata):
            print(f"{name}: no profile ({profdata})", file=sys.stderr)
            continue
        for target in TARGETS[name]:
            pattern, mode, func_re = target[:3]
            together = [name] + [o for o in (target[3] if len(target) > 3 else [])
                                 if os.path.exists(os.path.join(args.profiles, o + ".profdata"))]
            binaries = [os.path.join(args.build, "tests", "fuzz", n + "_fuzz") for n in together]
            profile = merged_profile(args.profiles, together)
            functions = export(binaries, profile)["functions"]
            files = line_hits(binaries, profile, root)
            label = "+".join(together)
            matched = [f for f in sorted(files) if re.search(pattern, f)]
            if not matched:
                print(f"{name}: warning: no instrumented source matches {pattern}", file=sys.stderr)
            for rel in matched:
                hits = files[rel]
                # Function extents in this file, demangled.
                fns = [fn for fn in functions
                       if os.path.relpath(os.path.realpath(fn["filenames"][0]), root) == rel]
                raw = [re.sub(r"^[^:]*\.cc:", "", fn["name"]) for fn in fns]
                pretty = demangle(raw)
                left_out, left_out_names = set(), set()
                for fn, nice in zip(fns, pretty):
                    body = [r for r in fn["regions"] if r[5] == 0]
                    if not body:
                        continue
                    first, last = min(r[0] for r in body), max(r[2] for r in body)
                    hit = bool(func_re) and re.search(func_re, nice) is not None
                    if (mode == "exclude" and hit) or (mode == "include" and not hit):
                        left_out.update(range(first, last + 1))
                        left_out_names.add(FunctionName(nice))
                # A line of a kept function is kept even if a left-out lambda shares it.
                for fn, nice in zip(fns, pretty):
                    body = [r for r in fn["regions"] if r[5] == 0]
                    hit = bool(func_re) and re.search(func_re, nice) is not None
                    keep = (mode == "exclude" and not hit) or (mode == "include" and hit)
                    if keep and body and (mode == "include"):
                        left_out.difference_update(
                            range(min(r[0] for r in body), max(r[2] for r in body) + 1))
                total = len(hits)
                covered = sum(1 for c in hits.values() if c > 0)
                parser = {l: c for l, c in hits.items() if l not in left_out}
                p_total = len(parser)
                p_cov = sum(1 for c in parser.values() if c > 0)
                rows.append((label, rel, covered, total, p_cov, p_total, sorted(left_out_names)))
                if args.uncovered:
                    missed = sorted(l for l, c in parser.items() if c == 0)
                    print(f"{label} {rel}: parser lines not reached: {compress(missed)}")

    def pct(a, b):
        return f"{100.0 * a / b:5.1f} %" if b else "    - "

    print()
    print(f"{'harness':14} {'file':42} {'file lines':>18} {'parser lines':>18}")
    for name, rel, c, t, pc, pt, out in rows:
        print(f"{name:14} {rel:42} {c:5}/{t:<5} {pct(c, t)} {pc:5}/{pt:<5} {pct(pc, pt)}")
    print()
    for name, rel, c, t, pc, pt, out in rows:
        if out:
            print(f"{rel} (for {name}): not parser code, left out of 'parser lines': "
                  + ", ".join(out))


def compress(lines):
    out, start, prev = [], None, None
    for l in lines:
        if start is None:
            start = prev = l
        elif l == prev + 1:
            prev = l
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = l
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(out) or "none"


if __name__ == "__main__":
    main()
