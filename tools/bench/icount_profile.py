#!/usr/bin/env python3
# Where the guest instructions of an ARM edgevae went, by function: the difference of two runs
# counted per translation block by icount_profile.c (qemu -plugin), with qemu's -strace and
# -d page logs giving where the program and each library were loaded, and nm the symbols.
# Debian's libraries keep only their exported symbols, so a library's internal function is
# counted under the exported one before it. Used by icount.sh and train_step_icount.sh.
#
#   icount_profile.py DIR FEW MANY PROGRAM TRIPLE CALLS
#
# DIR holds FEW.blocks, FEW.log, MANY.blocks and MANY.log (the two runs); CALLS is how many calls
# (or steps) the MANY run made more than the FEW one. Prints instructions per call, share, where.
import bisect, collections, re, subprocess, sys
tmp, few, many, program, triple = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
calls = int(sys.argv[6])
# Load addresses: the program is the first executable mapping qemu's -d page shows (before any
# library); each library is the executable mmap of the file descriptor its openat returned.
regions, opened, layout_start = [], {}, None
for line in open(f"{tmp}/{few}.log", errors="replace"):
    m = re.match(r"([0-9a-f]+)-[0-9a-f]+ [0-9a-f]+ r-x", line)
    if m and not regions and int(m.group(1), 16) != 0xffff0000:  # not armv7's commpage
        regions.append((int(m.group(1), 16), program))
    m = re.search(r'openat\(AT_FDCWD,"([^"]+\.so[^"]*)",.*\) = (\d+)$', line)
    if m:
        opened[m.group(2)] = m.group(1)
    # -d page interleaves its output with -strace's: the mapping's address is taken from the
    # call (MAP_FIXED), not from its result.
    m = re.search(r"mmap2?\((0x[0-9a-f]+),\d+,PROT_EXEC\|PROT_READ,[^,]*MAP_FIXED,(\d+),0\)", line)
    if m and m.group(2) in opened:
        regions.append((int(m.group(1), 16), opened.pop(m.group(2))))
regions.sort()
starts = [r[0] for r in regions]
symbols = {}
def symbol(path, offset):
    if path not in symbols:
        table = []
        for dynamic in ([], ["-D"]):
            out = subprocess.run([f"{triple}-nm", "--defined-only", "-C", *dynamic, path],
                                 capture_output=True, text=True).stdout
            for l in out.splitlines():
                p = l.split(" ", 2)
                if len(p) == 3 and p[1] in "tTwW":
                    table.append((int(p[0], 16) & ~1, p[2]))  # bit 0: a Thumb function
        table.sort()
        symbols[path] = ([t[0] for t in table], [t[1] for t in table])
    addrs, names = symbols[path]
    j = bisect.bisect_right(addrs, offset) - 1
    return names[j] if j >= 0 else "?"
def load(runs):
    blocks = collections.Counter()
    for l in open(f"{tmp}/{runs}.blocks"):
        a, n = l.split()
        blocks[int(a, 16)] += int(n)
    return blocks
a, b = load(few), load(many)
per = collections.Counter()
for addr in set(a) | set(b):
    n = b.get(addr, 0) - a.get(addr, 0)
    i = bisect.bisect_right(starts, addr) - 1
    if n == 0 or i < 0:
        continue
    base, path = regions[i]
    name = symbol(path, addr - base)
    # Without the parameter list.
    name = re.sub(r"\(.*", "", name.replace("(anonymous namespace)", "{anon}"))
    per[(path.rsplit("/", 1)[-1], name)] += n
total = sum(per.values())
for (lib, name), n in per.most_common():
    if n < calls * 50:  # under 50 instructions per call
        break
    print(f"{n / calls:10.0f}  {100 * n / total:5.1f} %  {lib}: {name}")
