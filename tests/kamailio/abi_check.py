#!/usr/bin/python3.11
"""Checks that the ctypes declarations of privcall_kemi.py match include/privcall.h: compiles a
small C program with the header that prints sizeof and offsetof of every struct and field,
and compares them with ctypes, and the constants with the header's. Prints PASS/FAIL lines.

usage: abi_check.py HEADER_DIR KEMI_SCRIPT SCRATCH_DIR
"""

import ctypes
import importlib.util
import os
import subprocess
import sys
import types

STRUCTS = {
    "privcall_config": "PrivcallConfig",
    "privcall_call": "PrivcallCall",
    "privcall_decision": "PrivcallDecision",
}
CONSTANTS = [
    "PRIVCALL_ABI_VERSION", "PRIVCALL_OK", "PRIVCALL_NORMALIZED_BYTES",
    "PRIVCALL_MAX_FIELD_BYTES", "PRIVCALL_REASON_REGISTERED", "PRIVCALL_REASON_PREARRANGED",
    "PRIVCALL_REASON_PREARRANGED_OVERRUN", "PRIVCALL_REASON_NOT_PRIVILEGED",
    "PRIVCALL_REASON_FAIL_SAFE", "PRIVCALL_REASON_UNREADABLE",
]


def load_script(path):
    # The script imports KSR, which only exists inside Kamailio: give it an empty stand-in.
    sys.modules.setdefault("KSR", types.ModuleType("KSR"))
    spec = importlib.util.spec_from_file_location("privcall_kemi", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(header_dir, script, scratch):
    kemi = load_script(script)
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "privcall.h"',
             "int main(void) {"]
    for cname, pyname in STRUCTS.items():
        lines.append('printf("%s sizeof %%zu\\n", sizeof(struct %s));' % (cname, cname))
        for field, _ in getattr(kemi, pyname)._fields_:
            lines.append('printf("%s.%s %%zu %%zu\\n", offsetof(struct %s, %s), '
                         'sizeof(((struct %s *)0)->%s));'
                         % (cname, field, cname, field, cname, field))
    for const in CONSTANTS:
        lines.append('printf("%s %%lld\\n", (long long)(%s));' % (const, const))
    lines.append("return 0; }")
    src = os.path.join(scratch, "abi_check.c")
    exe = os.path.join(scratch, "abi_check")
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    build = subprocess.run(["cc", "-std=c11", "-I", header_dir, "-o", exe, src],
                           capture_output=True, text=True)
    if build.returncode != 0:
        # A field the script declares that the header lacks fails here.
        print("FAIL ctypes vs privcall.h: does not compile: %s"
              % build.stderr.strip().splitlines()[0:3])
        return
    c = {}
    for line in subprocess.run([exe], capture_output=True, text=True).stdout.splitlines():
        name, *values = line.split()
        c[name] = values
    problems = []
    for cname, pyname in STRUCTS.items():
        cls = getattr(kemi, pyname)
        if int(c[cname][1]) != ctypes.sizeof(cls):
            problems.append("sizeof %s: C %s, ctypes %d" % (cname, c[cname][1], ctypes.sizeof(cls)))
        for field, _ in cls._fields_:
            desc = getattr(cls, field)
            off, size = (int(v) for v in c["%s.%s" % (cname, field)])
            if (off, size) != (desc.offset, desc.size):
                problems.append("%s.%s: C offset %d size %d, ctypes %d %d"
                                % (cname, field, off, size, desc.offset, desc.size))
    for const in CONSTANTS:
        if int(c[const][0]) != getattr(kemi, const):
            problems.append("%s: C %s, script %s" % (const, c[const][0], getattr(kemi, const)))
    # Fields the header has that the script does not declare change the struct size, which the
    # sizeof comparison above catches.
    if problems:
        for p in problems:
            print("FAIL ctypes vs privcall.h: %s" % p)
    else:
        print("PASS ctypes declarations match include/privcall.h (%d structs, %d constants)"
              % (len(STRUCTS), len(CONSTANTS)))


if __name__ == "__main__":
    main(*sys.argv[1:4])
