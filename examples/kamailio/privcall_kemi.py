# privcall for Kamailio: a KEMI (app_python3) routing script that asks privcall, in-process,
# whether each call may be recorded, tells the next hop (X-Privcall-Record: yes|no) and turns
# rtpengine's recording on or off for the call.
#
# privcall's C ABI (libprivcall.so) is loaded with ctypes, from the standard library: no
# compiled Python module is needed, and the script imports nothing outside the standard
# library (Debian's kamailio-python3-modules embeds /usr/bin/python3.11, not any other
# Python on the machine).
#
# Kamailio forks its SIP workers after module init. With share_list = yes (the default),
# mod_init makes one engine in the main process before the fork, with the list loaded and no
# feed started (privcall's `prefork`); each SIP worker inherits it, so the list's memory is
# shared by all workers, and child_init starts the worker's own deadline ticker and folder
# watcher (privcall_engine_after_fork): threads do not survive a fork. Processes that never
# route a call free their copy. After an update each worker holds the new list in memory of
# its own, until Kamailio restarts. With share_list = no, child_init makes one engine per
# worker. Either way every worker watches the same folder, so one signed bundle dropped there
# reaches all of them.
#
# Settings come from an INI file, [privcall] section: its path is in the environment variable
# PRIVCALL_KEMI_CONFIG (default /etc/kamailio/privcall.ini). See examples/kamailio/README.md.
#
# What it never does: drop or refuse a call because of privcall. With a missing header or a
# dialed string that is not a number, the call goes on with the facility's fail mode as the
# list says it (privcall_fail_safe); without an engine or with an error, with
# X-Privcall-Record: no (the fail mode of a privileged-by-default facility).
#
# It never logs a dialed number, an inmate id or a normalized number: only Call-IDs, the
# reason and the list sequence (privcall's metadata-privacy contract).

import configparser
import ctypes
import os
import time
import urllib.parse

import KSR

# ---------------------------------------------------------------------------------------------
# The C ABI, as include/privcall.h declares it (privcall-ffi, ABI version 2). Every ctypes
# declaration is here, in one place, so that it can follow the header.
# ---------------------------------------------------------------------------------------------

PRIVCALL_ABI_VERSION = 5
PRIVCALL_OK = 0
PRIVCALL_NORMALIZED_BYTES = 24
PRIVCALL_MAX_FIELD_BYTES = 1024
PRIVCALL_REASON_REGISTERED = 0
PRIVCALL_REASON_PREARRANGED = 1
PRIVCALL_REASON_PREARRANGED_OVERRUN = 2
PRIVCALL_REASON_NOT_PRIVILEGED = 3
PRIVCALL_REASON_FAIL_SAFE = 4
PRIVCALL_REASON_UNREADABLE = 5


class PrivcallConfig(ctypes.Structure):
    _fields_ = [
        ("trust_keys", ctypes.POINTER(ctypes.c_char_p)),
        ("trust_key_count", ctypes.c_size_t),
        ("threshold", ctypes.c_uint32),
        ("state_dir", ctypes.c_char_p),
        ("bundle_path", ctypes.c_char_p),
        ("watch_dir", ctypes.c_char_p),
        ("poll_url", ctypes.c_char_p),
        ("poll_interval_ms", ctypes.c_uint32),
        ("instances", ctypes.c_uint32),
        ("prefork", ctypes.c_bool),
        ("identity_path", ctypes.c_char_p),
        ("inmate_key_path", ctypes.c_char_p),
        ("registry_identity_path", ctypes.c_char_p),
        ("registry_poll_url", ctypes.c_char_p),
    ]


class PrivcallCall(ctypes.Structure):
    # Strings are (pointer, length) pairs, not necessarily NUL-terminated.
    _fields_ = [
        ("facility", ctypes.c_char_p),
        ("facility_len", ctypes.c_size_t),
        ("inmate", ctypes.c_char_p),
        ("inmate_len", ctypes.c_size_t),
        ("dialed", ctypes.c_char_p),
        ("dialed_len", ctypes.c_size_t),
        ("at", ctypes.c_int64),
        ("started", ctypes.c_int64),
        ("has_started", ctypes.c_bool),
    ]


class PrivcallDecision(ctypes.Structure):
    _fields_ = [
        ("record", ctypes.c_bool),
        ("monitor", ctypes.c_bool),
        ("redact_metadata", ctypes.c_bool),
        ("stale", ctypes.c_bool),
        ("default_policy", ctypes.c_bool),
        ("has_private_until", ctypes.c_bool),
        ("reason", ctypes.c_int32),
        ("reason_name", ctypes.c_char_p),
        ("category", ctypes.c_char_p),
        ("notice", ctypes.c_char_p),
        ("on_expiry", ctypes.c_char_p),
        ("private_until", ctypes.c_int64),
        ("list_sequence", ctypes.c_uint64),
        ("normalized", ctypes.c_char * PRIVCALL_NORMALIZED_BYTES),
    ]


def _bind(lib):
    """Declares the signatures of the functions used; returns lib."""
    lib.privcall_abi_version.argtypes = []
    lib.privcall_abi_version.restype = ctypes.c_uint32
    lib.privcall_engine_new.argtypes = [
        ctypes.POINTER(PrivcallConfig),
        ctypes.POINTER(ctypes.c_void_p),
    ]
    lib.privcall_engine_new.restype = ctypes.c_int32
    lib.privcall_engine_after_fork.argtypes = [ctypes.c_void_p]
    lib.privcall_engine_after_fork.restype = ctypes.c_int32
    lib.privcall_decide.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(PrivcallCall),
        ctypes.POINTER(PrivcallDecision),
    ]
    lib.privcall_decide.restype = ctypes.c_int32
    lib.privcall_fail_safe.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(PrivcallDecision),
    ]
    lib.privcall_fail_safe.restype = ctypes.c_int32
    lib.privcall_engine_free.argtypes = [ctypes.c_void_p]
    lib.privcall_engine_free.restype = None
    lib.privcall_last_error.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.privcall_last_error.restype = ctypes.c_size_t
    return lib


def _last_error(lib):
    buf = ctypes.create_string_buffer(512)
    lib.privcall_last_error(buf, len(buf))
    return buf.value.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------

DEFAULTS = {
    # libprivcall.so (a path, or a name the dynamic loader finds)
    "library": "libprivcall.so",
    # public key files of the list authority, one per line or comma-separated
    "trust_keys": "",
    "threshold": "1",
    # yes: one engine made before the fork, its list shared by every worker; no: one per worker
    "share_list": "yes",
    # a base folder for the last good list: STATE_DIR/shared, or STATE_DIR/rank-N with
    # share_list = no ("" = no state)
    "state_dir": "",
    # a bundle applied when a worker starts ("" = none)
    "bundle": "",
    # the folder every worker watches for new bundles ("" = none)
    "watch_dir": "",
    "poll_url": "",
    "poll_interval_ms": "1000",
    # this edge's identity, for lists encrypted to it ("" = none)
    "identity": "",
    # the inmate key, for lists whose inmate ids are hashed ("" = none)
    "inmate_key": "",
    # a fleet's registry key identity, for a list in parts ("" = none)
    "registry_identity": "",
    # the URL of a fleet's registry part; poll_url is then this edge's
    # window part ("" = none)
    "registry_poll_url": "",
    # guest instances per worker: a Kamailio worker decides one call at a time
    "instances": "1",
    # headers that carry the facility code and the inmate account id
    "facility_header": "X-Privcall-Facility",
    "inmate_header": "X-Privcall-Inmate",
    # facility used when the header is missing ("" = none: fail mode)
    "default_facility": "",
    # the header added to the relayed INVITE
    "record_header": "X-Privcall-Record",
    # where INVITEs are relayed ("" = to the Request-URI)
    "next_hop": "",
    # remove the facility and inmate headers from what is relayed
    "strip_id_headers": "no",
    # the htable (shared memory) that keeps prearranged calls for their re-INVITEs ("" = none)
    "calls_table": "privcall",
    # rtpengine flags for every offer/answer; "record-call=on" is added when recording
    "rtpengine_flags": "replace-origin replace-session-connection ICE=remove",
}

SECTION = "privcall"


def _load_settings():
    path = os.environ.get("PRIVCALL_KEMI_CONFIG", "/etc/kamailio/privcall.ini")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_dict({SECTION: DEFAULTS})
    if not parser.read(path):
        KSR.err("privcall: cannot read settings %s; every call will be do-not-record\n" % path)
    # A plain dict: a configparser lookup costs over a microsecond, and every INVITE reads a
    # few settings.
    return dict(parser[SECTION]), path


def _yes(value):
    """An INI boolean, as configparser reads one."""
    return value.strip().lower() in ("1", "yes", "true", "on")


def _split_list(text):
    return [p.strip() for p in text.replace(",", "\n").splitlines() if p.strip()]


def _c(text):
    """A NUL-terminated byte string for a path setting, or None for an empty one."""
    return text.encode("utf-8") if text else None


# ---------------------------------------------------------------------------------------------
# The decision for one call
# ---------------------------------------------------------------------------------------------


class Answer:
    """What the script does with a call: record or not, and why (for the log)."""

    __slots__ = ("record", "reason", "sequence", "private_until", "on_expiry", "notice", "call")

    def __init__(self, record, reason, sequence=0, private_until=None, on_expiry=None,
                 notice=None, call=None):
        self.call = call  # (facility, inmate, number, started) to re-ask mid-call
        self.record = record
        self.reason = reason
        self.sequence = sequence
        self.private_until = private_until
        self.on_expiry = on_expiry
        self.notice = notice


def fail_safe(why):
    # Without privcall's answer: a privileged-by-default facility's fail mode, do not record.
    return Answer(False, "fail-safe:" + why)


def dialed_from_ruri():
    """The number as dialed: the user part of a sip:/sips: URI or the number of a tel: URI,
    percent-decoded (a space arrives as %20). None when there is none."""
    ruri = KSR.pv.get("$ru") or ""
    scheme, _, rest = ruri.partition(":")
    scheme = scheme.lower()
    if scheme == "tel":
        number = rest.split(";", 1)[0]
    elif scheme in ("sip", "sips"):
        if "@" not in rest:
            return None
        number = rest.rsplit("@", 1)[0]
        number = number.split(":", 1)[0]  # a password, if any
    else:
        return None
    number = urllib.parse.unquote(number)
    # URI parameters of a telephone-subscriber (";phone-context=...", ";isub=...") are not
    # part of what was dialed; an extension (";ext=") is, and privcall strips it itself.
    parts = number.split(";")
    kept = [parts[0]] + [p for p in parts[1:] if p.lower().startswith("ext=")]
    return ";".join(kept)


def header(name):
    value = KSR.pv.get("$hdr(%s)" % name)
    if value is None:
        return None
    value = value.strip()
    return value or None


# ---------------------------------------------------------------------------------------------
# The routing script
# ---------------------------------------------------------------------------------------------


def mod_init():
    return PrivcallKamailio.before_fork()


class PrivcallKamailio:
    def __init__(self):
        self.settings = None
        self.settings_path = None
        self.lib = None
        self.engine = None
        self.rank = None

    @classmethod
    def before_fork(cls):
        """Runs in Kamailio's main process before the fork (mod_init). With share_list = yes,
        makes the one engine every worker inherits (no thread but its deadline ticker, no
        feed)."""
        kamailio = cls()
        kamailio.settings, kamailio.settings_path = _load_settings()
        if kamailio.shares_list():
            try:
                kamailio._start_engine("shared", prefork=True)
            except Exception as e:  # never keep Kamailio from starting
                KSR.err("privcall: no shared engine (%s); each worker makes its own\n" % e)
                kamailio.engine = None
        return kamailio

    def shares_list(self):
        return _yes(self.settings["share_list"])

    # -- per-process start -------------------------------------------------------------------

    def child_init(self, rank):
        """Readies this worker's engine: the shared one (its feeds started here), or one of
        its own. rank > 0: a SIP worker; <= 0: main, timer and other processes, which never
        route a call: they free their copy of a shared engine. Always returns 0: a worker
        without an engine still relays every call, with do-not-record."""
        self.rank = rank
        if self.settings is None:
            self.settings, self.settings_path = _load_settings()
        if rank <= 0:
            if self.engine is not None:
                self.lib.privcall_engine_free(self.engine)
                self.engine = None
            return 0
        if self.engine is not None:
            rc = self.lib.privcall_engine_after_fork(self.engine)
            if rc == PRIVCALL_OK:
                KSR.info("privcall: worker %d: shared engine ready\n" % rank)
                return 0
            KSR.err("privcall: worker %d: after_fork: %d: %s; making its own engine\n"
                    % (rank, rc, _last_error(self.lib)))
            self.lib.privcall_engine_free(self.engine)
            self.engine = None
        try:
            self._start_engine("rank-%d" % rank)
        except Exception as e:  # never keep Kamailio from starting
            KSR.err("privcall: worker %d has no engine (%s); its calls are do-not-record\n"
                    % (rank, e))
            self.engine = None
        return 0

    def _start_engine(self, name, prefork=False):
        """Makes an engine whose state lives in STATE_DIR/name."""
        s = self.settings
        lib = _bind(ctypes.CDLL(s["library"]))
        version = lib.privcall_abi_version()
        if version != PRIVCALL_ABI_VERSION:
            raise RuntimeError("libprivcall ABI version %d, this script knows %d"
                               % (version, PRIVCALL_ABI_VERSION))
        keys = [k.encode("utf-8") for k in _split_list(s["trust_keys"])]
        if not keys:
            raise RuntimeError("no trust_keys in %s" % self.settings_path)
        key_array = (ctypes.c_char_p * len(keys))(*keys)
        state_dir = None
        if s["state_dir"]:
            state_dir = os.path.join(s["state_dir"], name)
            os.makedirs(state_dir, mode=0o700, exist_ok=True)
        config = PrivcallConfig(
            trust_keys=key_array,
            trust_key_count=len(keys),
            threshold=int(s["threshold"]),
            state_dir=_c(state_dir),
            bundle_path=_c(s["bundle"]),
            watch_dir=_c(s["watch_dir"]),
            poll_url=_c(s["poll_url"]),
            poll_interval_ms=int(s["poll_interval_ms"]),
            instances=int(s["instances"]),
            prefork=prefork,
            identity_path=_c(s["identity"]),
            inmate_key_path=_c(s["inmate_key"]),
            registry_identity_path=_c(s["registry_identity"]),
            registry_poll_url=_c(s["registry_poll_url"]),
        )
        engine = ctypes.c_void_p()
        rc = lib.privcall_engine_new(ctypes.byref(config), ctypes.byref(engine))
        if rc != PRIVCALL_OK or not engine.value:
            raise RuntimeError("privcall_engine_new: %d: %s" % (rc, _last_error(lib)))
        self.lib = lib
        self.engine = engine
        KSR.info("privcall: %s: engine ready\n" % name)

    # -- deciding ----------------------------------------------------------------------------

    def decide(self, facility, inmate, dialed, at, started=None):
        if self.engine is None:
            return fail_safe("no-engine")
        f = facility.encode("utf-8")
        i = inmate.encode("utf-8")
        d = dialed.encode("utf-8")
        call = PrivcallCall(
            facility=f, facility_len=len(f),
            inmate=i, inmate_len=len(i),
            dialed=d, dialed_len=len(d),
            at=int(at),
            started=int(started or 0), has_started=started is not None,
        )
        out = PrivcallDecision()  # zeroed: record=false until privcall says otherwise
        rc = self.lib.privcall_decide(self.engine, ctypes.byref(call), ctypes.byref(out))
        if rc != PRIVCALL_OK:
            KSR.err("privcall: privcall_decide: %d: %s\n" % (rc, _last_error(self.lib)))
            return fail_safe("error")
        reason = (out.reason_name or b"?").decode()
        # A dialed string that is not a number comes back with reason `unreadable`,
        # decided by the policy's `unreadable` key (the test's policy: the fail mode).
        number = out.normalized.decode() or dialed
        return Answer(
            bool(out.record), reason, out.list_sequence,
            out.private_until if out.has_private_until else None,
            out.on_expiry.decode() if out.on_expiry else None,
            out.notice.decode() if out.notice else None,
            (facility, inmate, number, started if started is not None else int(at)),
        )

    def facility_fail_mode(self, facility, why):
        """The facility's fail mode under the live list (the [default] policy's for an
        unknown or empty facility): for a request that cannot be decided as a call."""
        if self.engine is None:
            return fail_safe("no-engine")
        f = facility.encode("utf-8")
        out = PrivcallDecision()
        rc = self.lib.privcall_fail_safe(self.engine, f, len(f), ctypes.byref(out))
        if rc != PRIVCALL_OK:
            KSR.err("privcall: privcall_fail_safe: %d: %s\n" % (rc, _last_error(self.lib)))
            return fail_safe("error")
        return Answer(bool(out.record), "fail-safe:" + why, out.list_sequence)

    def decide_invite(self):
        s = self.settings
        facility = header(s["facility_header"]) or (s["default_facility"] or None)
        inmate = header(s["inmate_header"])
        dialed = dialed_from_ruri()
        if facility is None:
            return self.facility_fail_mode("", "no-facility")
        if inmate is None:
            return self.facility_fail_mode(facility, "no-inmate")
        if not dialed:
            return self.facility_fail_mode(facility, "no-number")
        return self.decide(facility, inmate, dialed, time.time())

    # -- request routing ---------------------------------------------------------------------

    def ksr_request_route(self, msg):
        if KSR.maxfwd.process_maxfwd(10) < 0:
            KSR.sl.sl_send_reply(483, "Too Many Hops")
            return 1
        if KSR.is_CANCEL():
            if KSR.tm.t_check_trans() > 0:
                KSR.rtpengine.rtpengine_delete0()
                KSR.tm.t_relay()
            return 1
        if KSR.siputils.has_totag() > 0:
            return self.in_dialog()
        if KSR.tm.t_check_trans() == 0:
            return 1  # a retransmission, absorbed by tm
        if KSR.is_INVITE():
            return self.initial_invite()
        if KSR.is_ACK():
            return 1
        if KSR.is_OPTIONS():
            KSR.sl.sl_send_reply(200, "OK")  # keepalive pings
            return 1
        KSR.sl.sl_send_reply(405, "Method Not Allowed")
        return 1

    def initial_invite(self):
        s = self.settings
        KSR.tm.t_newtran()  # absorb retransmissions while privcall decides
        answer = self.decide_invite()
        flag = "yes" if answer.record else "no"
        callid = KSR.pv.get("$ci") or ""
        KSR.info("privcall: call %s record=%s reason=%s list=%d\n"
                 % (callid, flag, answer.reason, answer.sequence))
        # Never let a caller choose: drop any X-Privcall-Record it sent, add privcall's.
        KSR.hdr.remove(s["record_header"])
        KSR.hdr.append("%s: %s\r\n" % (s["record_header"], flag))
        if _yes(s["strip_id_headers"]):
            KSR.hdr.remove(s["facility_header"])
            KSR.hdr.remove(s["inmate_header"])
        # The transaction keeps the decision for the 200 OK (any worker may handle it).
        KSR.pv.sets("$avp(privcall_record)", flag)
        if answer.private_until is not None and answer.call is not None:
            self.remember(callid, answer)
        KSR.rr.record_route()
        if KSR.textops.has_body_type("application/sdp") > 0:
            KSR.rtpengine.rtpengine_offer(self.rtp_flags(answer.record))
        KSR.tm.t_on_reply("ksr_onreply_invite")
        KSR.tm.t_on_failure("ksr_failure_invite")
        if s["next_hop"]:
            KSR.setdsturi(s["next_hop"])
        if KSR.tm.t_relay() < 0:
            KSR.rtpengine.rtpengine_delete0()
            KSR.sl.sl_reply_error()
        return 1

    def in_dialog(self):
        if KSR.rr.loose_route() > 0:
            if KSR.is_BYE():
                KSR.rtpengine.rtpengine_delete0()
                self.forget(KSR.pv.get("$ci") or "")
            elif KSR.is_INVITE():
                self.reinvite()
            KSR.tm.t_relay()
            return 1
        if KSR.is_ACK() and KSR.tm.t_check_trans() > 0:
            KSR.tm.t_relay()
            return 1
        KSR.sl.sl_send_reply(404, "Not here")
        return 1

    # -- prearranged calls: re-asking mid-call ----------------------------------------------

    def remember(self, callid, answer):
        """Keeps a prearranged call (one with private_until) in shared memory, so that any
        worker can re-ask privcall when the call sends a re-INVITE after the window ends. The
        number kept is the normalized one; nothing here is logged."""
        table = self.settings["calls_table"]
        if not table:
            return
        facility, inmate, number, started = answer.call
        KSR.htable.sht_sets(table, callid, "%d|%d|%s|%s|%s" % (
            started, answer.private_until, facility, inmate, number))

    def forget(self, callid):
        table = self.settings["calls_table"]
        if table and callid:
            KSR.htable.sht_rm(table, callid)

    def reinvite(self):
        """A re-INVITE: a prearranged call is decided again with its setup time (privcall's
        overrun rule). Once the window has ended under record-with-notice, recording is
        switched on in rtpengine from this offer on, and the next hop is told
        X-Privcall-Record: yes. Other calls keep the recording state they have."""
        s = self.settings
        callid = KSR.pv.get("$ci") or ""
        kept = KSR.htable.sht_get(s["calls_table"], callid) if s["calls_table"] else None
        record = None
        if kept:
            started, until, facility, inmate, number = str(kept).split("|", 4)
            answer = self.decide(facility, inmate, number, time.time(), int(started))
            record = answer.record
            KSR.info("privcall: call %s re-asked: record=%s reason=%s notice=%s list=%d\n"
                     % (callid, "yes" if record else "no", answer.reason, answer.notice,
                        answer.sequence))
            KSR.hdr.remove(s["record_header"])
            KSR.hdr.append("%s: %s\r\n" % (s["record_header"], "yes" if record else "no"))
            if record:
                KSR.pv.sets("$avp(privcall_record)", "yes")
                self.forget(callid)  # recording is on now; nothing more to re-ask
        if KSR.textops.has_body_type("application/sdp") > 0:
            if record:
                KSR.rtpengine.rtpengine_offer(self.rtp_flags(True))
            else:
                # rtpengine keeps the call's recording state when record-call is not given
                KSR.rtpengine.rtpengine_offer(s["rtpengine_flags"])
            KSR.tm.t_on_reply("ksr_onreply_invite")
        elif record:
            KSR.rtpengine.start_recording()

    def rtp_flags(self, record):
        flags = self.settings["rtpengine_flags"]
        return flags + (" record-call=on" if record else " record-call=off")

    # -- replies -----------------------------------------------------------------------------

    def ksr_onreply_invite(self, msg):
        status = KSR.pv.get("$rs") or 0
        if 100 < int(status) < 300 and KSR.textops.has_body_type("application/sdp") > 0:
            record = (KSR.pv.get("$avp(privcall_record)") == "yes")
            if KSR.pv.get("$avp(privcall_record)") is None:
                # a re-INVITE's reply: leave the call's recording as it is
                KSR.rtpengine.rtpengine_answer(self.settings["rtpengine_flags"])
            else:
                KSR.rtpengine.rtpengine_answer(self.rtp_flags(record))
        return 1

    def ksr_failure_invite(self, msg):
        KSR.rtpengine.rtpengine_delete0()
        return 1

    def ksr_reply_route(self, msg):
        return 1

    def ksr_onsend_route(self, msg):
        # app_python3 calls it for every message Kamailio sends
        return 1
