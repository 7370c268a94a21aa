#!/usr/bin/python3.11
"""Checks the calls of tests/kamailio/run.sh: for each case, the X-Privcall-Record header the
callee (SIPp UAS) saw in the INVITE Kamailio relayed, and the rtpengine recording of the call
(pcap files named after the Call-ID): a recorded call has one with RTP both ways, a private
call has none. Prints one line per assertion: "PASS ..." or "FAIL ...". Standard library only.

usage: check.py CASES UAS_LOG RECORDING_DIR [MIN_PACKETS]
       check.py --flows PCAP        (prints the UDP flows of a pcap file and their packet counts)
       check.py --first-time PCAP   (prints the time of its first packet, seconds since the epoch)
"""

import collections
import os
import re
import struct
import sys


def pcap_flows(path):
    """{(src, sport, dst, dport): packets} of the UDP/IPv4 packets in a classic pcap file
    (link types Ethernet, raw IP, Linux cooked capture)."""
    flows = collections.Counter()
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return flows
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("%s: not a pcap file" % path)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    offset = 24
    while offset + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + incl]
        offset += 16 + incl
        if linktype == 1:  # Ethernet
            ip = frame[14:]
        elif linktype in (101, 12, 14):  # raw IP
            ip = frame
        elif linktype == 113:  # Linux cooked
            ip = frame[16:]
        elif linktype == 0:  # BSD loopback
            ip = frame[4:]
        else:
            raise ValueError("%s: link type %d not handled" % (path, linktype))
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        src = ".".join(str(b) for b in ip[12:16])
        dst = ".".join(str(b) for b in ip[16:20])
        sport, dport = struct.unpack(">HH", ip[ihl:ihl + 4])
        flows[(src, sport, dst, dport)] += 1
    return flows


def pcap_first_time(path):
    """Seconds since the epoch of the first packet of a pcap file, or None."""
    with open(path, "rb") as f:
        data = f.read(40)
    if len(data) < 40:
        return None
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    sec, frac = struct.unpack(endian + "II", data[24:32])
    nano = data[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    return sec + frac / (1e9 if nano else 1e6)


def read_cases(path):
    cases = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split(";")
            cases.append((fields[3], fields[-1].strip()))
    return cases


def read_uas_log(path):
    """{case: [(record header value, call-id), ...]} from the UAS's log lines."""
    seen = collections.defaultdict(list)
    pattern = re.compile(r"^CALL case=\[?\s*(\S*?)\]? record=(.*?) callid=\s*(\S+)")
    if not os.path.exists(path):
        return seen
    with open(path, errors="replace") as f:
        for line in f:
            m = pattern.search(line)
            if m:
                seen[m.group(1).strip()].append((m.group(2).strip(), m.group(3).strip()))
    return seen


def recordings(rec_dir):
    """All pcap files under the recording dir."""
    found = []
    for root, _, files in os.walk(rec_dir):
        for name in files:
            if name.endswith(".pcap"):
                found.append(os.path.join(root, name))
    return found


def main(argv):
    if len(argv) == 3 and argv[1] == "--first-time":
        print(pcap_first_time(argv[2]))
        return 0
    if len(argv) == 3 and argv[1] == "--flows":
        for (src, sport, dst, dport), n in sorted(pcap_flows(argv[2]).items()):
            print("%s:%d -> %s:%d %d" % (src, sport, dst, dport, n))
        return 0
    cases_path, uas_log, rec_dir = argv[1:4]
    min_packets = int(argv[4]) if len(argv) > 4 else 10
    seen = read_uas_log(uas_log)
    pcaps = recordings(rec_dir)
    for case, expected in read_cases(cases_path):
        calls = seen.get(case, [])
        if len(calls) != 1:
            print("FAIL %s: the callee got %d INVITE(s), expected 1 (never dropped)"
                  % (case, len(calls)))
            continue
        header, callid = calls[0]
        if header == expected:
            print("PASS %s: X-Privcall-Record: %s" % (case, header))
        else:
            print("FAIL %s: X-Privcall-Record: %r, expected %r" % (case, header, expected))
        prefix = callid.split("@", 1)[0]
        files = [p for p in pcaps
                 if os.path.basename(p).startswith((prefix + "@", prefix + "%40"))]
        if expected == "no":
            if files:
                print("FAIL %s: private call recorded: %s" % (case, ", ".join(files)))
            else:
                print("PASS %s: no recording" % case)
            continue
        if len(files) != 1:
            print("FAIL %s: %d recording(s) for %s, expected 1" % (case, len(files), callid))
            continue
        flows = pcap_flows(files[0])
        # rtpengine's pcap holds the packets as it received them: RTP both ways means
        # packets from two sources (caller and callee), each with at least min_packets.
        counts = ", ".join("%s:%d->%s:%d %d" % (k + (n,)) for k, n in sorted(flows.items()))
        senders = {(k[0], k[1]) for k, n in flows.items() if n >= min_packets}
        if len(senders) >= 2:
            print("PASS %s: recorded, RTP both ways (%s)" % (case, counts))
        else:
            print("FAIL %s: recording without RTP both ways (%s)" % (case, counts or "empty"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
