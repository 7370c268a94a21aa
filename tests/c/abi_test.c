/*
 * Drives the whole C ABI of privcall (include/privcall.h): a good list,
 * refused updates with the old list still deciding, NULL pointers, short
 * buffers, oversized fields, threads deciding during swaps, and a watched
 * folder. tests/c/run.sh builds it, makes the keys and bundles with the
 * privcall CLI, and runs it under valgrind.
 *
 * Usage: abi_test DIR [--fork | --prefork], where DIR holds
 * authority.pub, seq1.bundle, seq2.bundle, seq3.bundle, seq4.bundle,
 * tampered.bundle and an empty folder watch/. With --fork it runs only
 * the forked workers, each making its own engine, from a parent that has
 * made none; with --prefork, forked workers that share one engine the
 * parent made before the fork (privcall_engine_after_fork).
 */
#include <pthread.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "privcall.h"

static int failed, passed;
static const char *dir;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

static char *path(const char *name) {
    static char buf[8][4096];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static const char *last_error(void) {
    static char buf[512];
    privcall_last_error(buf, sizeof buf);
    return buf;
}

/* 2026-12-01T12:00:00Z: inside every bundle's validity. */
static const int64_t AT = 1796126400;

static privcall_call call_to(const char *facility, const char *dialed) {
    privcall_call c;
    memset(&c, 0, sizeof c);
    c.facility = facility;
    c.facility_len = strlen(facility);
    c.inmate = "A1001";
    c.inmate_len = 5;
    c.dialed = dialed;
    c.dialed_len = strlen(dialed);
    c.at = AT;
    return c;
}

static privcall_engine *new_engine_with(const char *bundle, const char *state, const char *watch,
                                        bool prefork) {
    const char *keys[] = {path("authority.pub")};
    privcall_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.trust_keys = keys;
    cfg.trust_key_count = 1;
    cfg.threshold = 1;
    cfg.bundle_path = bundle;
    cfg.state_dir = state;
    cfg.watch_dir = watch;
    cfg.poll_interval_ms = 50;
    cfg.instances = 2;
    cfg.prefork = prefork;
    privcall_engine *e = NULL;
    int rc = privcall_engine_new(&cfg, &e);
    CHECK(rc == PRIVCALL_OK && e != NULL, "engine_new: %d %s", rc, last_error());
    return e;
}

static privcall_engine *new_engine(const char *bundle, const char *state, const char *watch) {
    return new_engine_with(bundle, state, watch, false);
}

static void config_errors(void) {
    privcall_engine *e = (privcall_engine *)0x1;
    CHECK(privcall_engine_new(NULL, &e) == PRIVCALL_ERR_NULL, "NULL config");
    CHECK(e == (privcall_engine *)0x1, "out untouched on error");
    CHECK(strstr(last_error(), "config") != NULL, "message names config: %s", last_error());

    privcall_config cfg;
    memset(&cfg, 0, sizeof cfg);
    CHECK(privcall_engine_new(&cfg, NULL) == PRIVCALL_ERR_NULL, "NULL out");
    CHECK(privcall_engine_new(&cfg, &e) == PRIVCALL_ERR_INVALID, "no keys");
    CHECK(strstr(last_error(), "trust_key_count") != NULL, "%s", last_error());

    const char *missing[] = {path("no-such.pub")};
    cfg.trust_keys = missing;
    cfg.trust_key_count = 1;
    cfg.threshold = 1;
    CHECK(privcall_engine_new(&cfg, &e) == PRIVCALL_ERR_CONFIG, "missing key file");
    CHECK(strstr(last_error(), "no-such.pub") != NULL, "names the file: %s", last_error());

    const char *null_key[] = {NULL};
    cfg.trust_keys = null_key;
    CHECK(privcall_engine_new(&cfg, &e) == PRIVCALL_ERR_NULL, "NULL key path");
    CHECK(strstr(last_error(), "trust_keys[0]") != NULL, "%s", last_error());
    CHECK(e == (privcall_engine *)0x1, "out untouched on every error");
}

static void decisions(privcall_engine *e, uint64_t sequence) {
    /* A registered attorney in every format a PBX passes on. */
    const char *formats[] = {"+1 573 555 0142", "9-1-573-555-0142", "(573) 555-0142",
                             "tel:+15735550142", "5550142", "15735550142"};
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        privcall_call c = call_to("JCCC", formats[i]);
        privcall_decision d;
        int rc = privcall_decide(e, &c, &d);
        CHECK(rc == PRIVCALL_OK, "decide %s: %d %s", formats[i], rc, last_error());
        CHECK(!d.record && !d.monitor, "%s must not be recorded", formats[i]);
        CHECK(d.reason == PRIVCALL_REASON_REGISTERED, "%s: reason %d", formats[i], d.reason);
        CHECK(strcmp(d.reason_name, "registered") == 0, "%s", d.reason_name);
        CHECK(d.category && strcmp(d.category, "attorney") == 0, "category");
        CHECK(strcmp(d.normalized, "+15735550142") == 0, "normalized %s", d.normalized);
        CHECK(d.redact_metadata, "a privileged number is redacted");
        CHECK(d.list_sequence == sequence, "sequence %llu", (unsigned long long)d.list_sequence);
    }
    /* An ordinary number is recorded. */
    privcall_call c = call_to("JCCC", "573-555-0100");
    privcall_decision d;
    CHECK(privcall_decide(e, &c, &d) == PRIVCALL_OK, "%s", last_error());
    CHECK(d.record && d.reason == PRIVCALL_REASON_NOT_PRIVILEGED, "ordinary: %d", d.reason);
    CHECK(d.category == NULL && d.notice == NULL, "no category or notice");

    /* A prearranged window, inside it. */
    privcall_call w = call_to("JCCC", "573-555-0163");
    w.at = 1796133600; /* 14:00 */
    CHECK(privcall_decide(e, &w, &d) == PRIVCALL_OK, "%s", last_error());
    CHECK(!d.record && d.reason == PRIVCALL_REASON_PREARRANGED, "window: %d", d.reason);
    CHECK(d.has_private_until && d.private_until == 1796135400, "until %lld",
          (long long)d.private_until);

    /* Not a number, and bytes that are not UTF-8: still decided. */
    privcall_call junk = call_to("JCCC", "\xff\xfe not a number");
    CHECK(privcall_decide(e, &junk, &d) == PRIVCALL_OK, "%s", last_error());
    CHECK(d.normalized[0] == '\0', "no normalized form");

    /* A request that cannot be decided as a call: the facility's fail mode
     * (JCCC and [default] are do-not-record in the sample policy). */
    memset(&d, 0, sizeof d);
    d.record = true;
    CHECK(privcall_fail_safe(e, "JCCC", 4, &d) == PRIVCALL_OK, "%s", last_error());
    CHECK(!d.record && d.reason == PRIVCALL_REASON_FAIL_SAFE && d.list_sequence == sequence,
          "fail-safe: record=%d reason=%d", d.record, d.reason);
    CHECK(strcmp(d.reason_name, "fail-safe") == 0 && d.redact_metadata, "fail-safe fields");
    CHECK(privcall_fail_safe(e, NULL, 0, &d) == PRIVCALL_OK && !d.record, "no facility");
    CHECK(privcall_fail_safe(e, NULL, 3, &d) == PRIVCALL_ERR_NULL, "NULL facility with a length");

    /* A field that is not NUL-terminated: only its length counts. */
    const char dialed[] = {'5', '7', '3', '5', '5', '5', '0', '1', '4', '2', 'X'};
    privcall_call raw = call_to("JCCC", "");
    raw.dialed = dialed;
    raw.dialed_len = 10;
    CHECK(privcall_decide(e, &raw, &d) == PRIVCALL_OK && !d.record, "str-style field");
}

/* A list encrypted to this edge, with its inmate ids hashed: decided with
 * the identity and the inmate key, refused without them (every call then
 * gets the fail mode); a missing identity file is named. */
static void encrypted_lists(void) {
    const char *keys[] = {path("authority.pub")};
    privcall_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.trust_keys = keys;
    cfg.trust_key_count = 1;
    cfg.threshold = 1;
    cfg.bundle_path = path("encrypted.bundle");
    cfg.instances = 1;
    cfg.identity_path = path("edge.identity");
    cfg.inmate_key_path = path("fleet.inmatekey");
    privcall_engine *e = NULL;
    CHECK(privcall_engine_new(&cfg, &e) == PRIVCALL_OK && e, "encrypted: %s", last_error());
    if (e) {
        decisions(e, 5);
        privcall_engine_free(e);
    }
    cfg.inmate_key_path = NULL;
    for (int without = 0; without < 2; without++) {
        e = NULL;
        CHECK(privcall_engine_new(&cfg, &e) == PRIVCALL_OK && e, "%s", last_error());
        if (!e)
            continue;
        privcall_call c = call_to("JCCC", "+1 573 555 0142");
        privcall_decision d;
        CHECK(privcall_decide(e, &c, &d) == PRIVCALL_OK, "%s", last_error());
        CHECK(d.reason == PRIVCALL_REASON_FAIL_SAFE && !d.record, "refused list: %d", d.reason);
        privcall_engine_free(e);
        cfg.identity_path = NULL;
    }
    cfg.identity_path = path("no-such.identity");
    e = (privcall_engine *)0x1;
    CHECK(privcall_engine_new(&cfg, &e) == PRIVCALL_ERR_CONFIG, "missing identity");
    CHECK(strstr(last_error(), "no-such.identity") != NULL, "names it: %s", last_error());
}

static void decide_errors(privcall_engine *e) {
    privcall_decision d, sentinel;
    memset(&sentinel, 0xAB, sizeof sentinel);
    privcall_call c = call_to("JCCC", "+15735550142");

    memcpy(&d, &sentinel, sizeof d);
    CHECK(privcall_decide(NULL, &c, &d) == PRIVCALL_ERR_NULL, "NULL engine");
    CHECK(privcall_decide(e, NULL, &d) == PRIVCALL_ERR_NULL, "NULL call");
    CHECK(privcall_decide(e, &c, NULL) == PRIVCALL_ERR_NULL, "NULL out");
    c.dialed = NULL;
    CHECK(privcall_decide(e, &c, &d) == PRIVCALL_ERR_NULL, "NULL dialed with a length");
    CHECK(strstr(last_error(), "call.dialed") != NULL, "%s", last_error());
    static char big[PRIVCALL_MAX_FIELD_BYTES + 1];
    memset(big, '5', sizeof big);
    c.dialed = big;
    c.dialed_len = sizeof big;
    CHECK(privcall_decide(e, &c, &d) == PRIVCALL_ERR_INVALID, "field over the limit");
    CHECK(memcmp(&d, &sentinel, sizeof d) == 0, "out untouched on every error");
    /* The error message never holds the dialed number. */
    c = call_to("JCCC", "+15735550142");
    c.inmate = NULL;
    c.inmate_len = 3;
    CHECK(privcall_decide(e, &c, &d) == PRIVCALL_ERR_NULL, "NULL inmate");
    CHECK(strstr(last_error(), "5550142") == NULL, "no number in %s", last_error());
}

static void updates(privcall_engine *e) {
    uint64_t seq = 77;
    CHECK(privcall_update_file(e, path("tampered.bundle"), &seq) == PRIVCALL_ERR_REFUSED,
          "tampered bundle");
    CHECK(seq == 77, "sequence_out untouched on refusal");
    CHECK(strstr(last_error(), "refused") != NULL, "%s", last_error());
    CHECK(privcall_update_file(e, path("missing.bundle"), &seq) == PRIVCALL_ERR_IO, "missing");
    CHECK(privcall_update_file(e, NULL, &seq) == PRIVCALL_ERR_NULL, "NULL path");
    CHECK(privcall_update_bytes(e, NULL, 10, &seq) == PRIVCALL_ERR_NULL, "NULL bytes");
    CHECK(privcall_update_bytes(e, (const uint8_t *)"garbage", 7, &seq) == PRIVCALL_ERR_REFUSED,
          "garbage bytes");
    decisions(e, 1); /* the old list still decides */

    CHECK(privcall_update_file(e, path("seq2.bundle"), &seq) == PRIVCALL_OK, "%s", last_error());
    CHECK(seq == 2, "sequence %llu", (unsigned long long)seq);
    decisions(e, 2);
    CHECK(privcall_update_file(e, path("seq1.bundle"), NULL) == PRIVCALL_ERR_REFUSED,
          "an older list is refused");
    CHECK(strstr(last_error(), "replayed") != NULL, "%s", last_error());
    decisions(e, 2);
}

static void status_and_errors(privcall_engine *e) {
    size_t len = 0;
    char small[4] = "xyz";
    CHECK(privcall_status_json(e, small, sizeof small, &len) == PRIVCALL_ERR_BUFFER, "short buffer");
    CHECK(len > sizeof small && strcmp(small, "xyz") == 0, "length only: %zu", len);
    char *buf = malloc(len + 1);
    size_t got = 0;
    CHECK(privcall_status_json(e, buf, len + 1, &got) == PRIVCALL_OK, "%s", last_error());
    CHECK(got == len && buf[len] == '\0', "fits exactly");
    CHECK(strstr(buf, "\"sequence\":2") != NULL, "status: %s", buf);
    CHECK(strstr(buf, "5550142") == NULL, "the status names no number");
    free(buf);
    CHECK(privcall_status_json(e, NULL, 0, NULL) == PRIVCALL_ERR_NULL, "NULL len_out");

    /* last_error cuts to the buffer and returns the whole length. */
    privcall_decide(NULL, NULL, NULL);
    char tiny[5];
    size_t full = privcall_last_error(tiny, sizeof tiny);
    CHECK(full > 4 && strlen(tiny) == 4, "cut: %zu '%s'", full, tiny);
    CHECK(privcall_last_error(NULL, 0) == full, "length without a buffer");
}

struct worker {
    privcall_engine *e;
    int recorded_privileged;
    int errors;
};

static void *decide_loop(void *arg) {
    struct worker *w = arg;
    const char *formats[] = {"+1 573 555 0142", "9-1-573-555-0142", "tel:+15735550142"};
    for (int i = 0; i < 3000; i++) {
        privcall_call c = call_to("JCCC", formats[i % 3]);
        privcall_decision d;
        if (privcall_decide(w->e, &c, &d) != PRIVCALL_OK)
            w->errors++;
        else if (d.record)
            w->recorded_privileged++;
    }
    return NULL;
}

static void threads_during_swap(privcall_engine *e) {
    enum { N = 6 };
    pthread_t t[N];
    struct worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){e, 0, 0};
        pthread_create(&t[i], NULL, decide_loop, &w[i]);
    }
    uint64_t seq = 0;
    int rc = privcall_update_file(e, path("seq3.bundle"), &seq);
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].errors == 0, "thread %d: %d errors", i, w[i].errors);
        CHECK(w[i].recorded_privileged == 0, "thread %d recorded %d privileged calls", i,
              w[i].recorded_privileged);
    }
    CHECK(rc == PRIVCALL_OK && seq == 3, "swap during decisions: %d %s", rc, last_error());
}

static void watched_folder(void) {
    privcall_engine *e = new_engine(NULL, NULL, path("watch"));
    privcall_call c = call_to("JCCC", "+15735550142");
    privcall_decision d;
    CHECK(privcall_decide(e, &c, &d) == PRIVCALL_OK, "%s", last_error());
    CHECK(d.reason == PRIVCALL_REASON_FAIL_SAFE && !d.record && d.list_sequence == 0,
          "no list yet: the fail mode");
    /* Drop a bundle into the folder, as `cp` does for a fleet. */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path("seq4.bundle"), path("watch/new.bundle"));
    CHECK(system(cmd) == 0, "copy");
    int waited_ms = 0;
    for (; waited_ms < 10000; waited_ms += 20) {
        privcall_decide(e, &c, &d);
        if (d.list_sequence == 4)
            break;
        usleep(20000);
    }
    CHECK(d.list_sequence == 4 && d.reason == PRIVCALL_REASON_REGISTERED,
          "the watched bundle went live (after %d ms)", waited_ms);
    privcall_engine_free(e);
}

static long ms_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A forked worker on the shared folder: with `inherited` NULL, its own
 * engine made after the fork; otherwise the parent's prefork engine,
 * readied with privcall_engine_after_fork and deciding on the list the
 * parent loaded from its first call. Says "ready" when it decides on
 * sequence 1, then waits for sequence 2 and says how long after `go` it
 * first decided on it (-1: never). */
static void worker(privcall_engine *inherited, int to_parent, int from_parent) {
    privcall_engine *e = inherited;
    privcall_call c = call_to("JCCC", "+15735550142");
    privcall_decision d;
    long answer = -1;
    if (e) {
        int rc = privcall_engine_after_fork(e);
        CHECK(rc == PRIVCALL_OK, "after_fork: %d %s", rc, last_error());
        CHECK(privcall_decide(e, &c, &d) == PRIVCALL_OK && d.list_sequence == 1 && !d.record,
              "the inherited list decides at once (sequence %llu)",
              (unsigned long long)d.list_sequence);
        CHECK(privcall_engine_after_fork(e) == PRIVCALL_OK, "a second after_fork: no-op");
    } else {
        e = new_engine(NULL, NULL, path("fleet"));
    }
    for (int i = 0; i < 2000 && !(privcall_decide(e, &c, &d) == 0 && d.list_sequence == 1); i++)
        usleep(10000);
    if (write(to_parent, &answer, sizeof answer) != sizeof answer) /* ready */
        _exit(3);
    char go;
    if (read(from_parent, &go, 1) != 1)
        _exit(3);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (ms_since(&t0) < 20000) {
        if (privcall_decide(e, &c, &d) == 0 && d.list_sequence == 2 && !d.record) {
            answer = ms_since(&t0);
            break;
        }
        usleep(5000);
    }
    if (write(to_parent, &answer, sizeof answer) != sizeof answer)
        _exit(3);
    privcall_engine_free(e);
    _exit(failed ? 1 : 0);
}

/* Forked workers, all watching one folder: one bundle copied into it
 * reaches every worker. Without `prefork`, each makes its own engine after
 * the fork (as Kamailio's children do in child_init); with it, the parent
 * makes one engine before the fork (Kamailio's mod_init) and every worker
 * inherits it and its list. The bound: the folder is scanned every 50 ms
 * and a list loads in well under a second natively; 10 s leaves room for
 * valgrind, which runs each load ~50x slower. */
static void forked_workers(bool prefork) {
    enum { WORKERS = 3, BOUND_MS = 10000 };
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s' '%s'", path("fleet"),
             path("fleet"), path("seq1.bundle"), path("fleet/list.bundle"));
    CHECK(system(cmd) == 0, "seed the folder");
    privcall_engine *parent = NULL;
    privcall_call c = call_to("JCCC", "+15735550142");
    privcall_decision d;
    if (prefork) {
        parent = new_engine_with(NULL, NULL, path("fleet"), true);
        CHECK(parent && privcall_decide(parent, &c, &d) == PRIVCALL_OK && d.list_sequence == 1,
              "prefork: the folder's list is live before the fork");
    }
    int up[WORKERS][2], down[WORKERS][2];
    pid_t pids[WORKERS];
    fflush(NULL);
    for (int i = 0; i < WORKERS; i++) {
        if (pipe(up[i]) || pipe(down[i]))
            abort();
        pids[i] = fork();
        if (pids[i] == 0)
            worker(parent, up[i][1], down[i][0]);
    }
    long ready;
    for (int i = 0; i < WORKERS; i++)
        CHECK(read(up[i][0], &ready, sizeof ready) == sizeof ready, "worker %d ready", i);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.tmp' && mv '%s.tmp' '%s'", path("seq2.bundle"),
             path("fleet/list.bundle"), path("fleet/list.bundle"), path("fleet/list.bundle"));
    CHECK(system(cmd) == 0, "update the folder");
    for (int i = 0; i < WORKERS; i++)
        CHECK(write(down[i][1], "g", 1) == 1, "go");
    long slowest = 0;
    for (int i = 0; i < WORKERS; i++) {
        long took = -1;
        CHECK(read(up[i][0], &took, sizeof took) == sizeof took, "worker %d answers", i);
        CHECK(took >= 0 && took <= BOUND_MS, "worker %d: sequence 2 after %ld ms", i, took);
        if (took > slowest)
            slowest = took;
        int status = 0;
        waitpid(pids[i], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %d exit %d", i, status);
    }
    printf("forked workers%s: every worker decided on the new list within %ld ms\n",
           prefork ? " (one engine made before the fork)" : "", slowest);
    if (parent) {
        /* The parent started no feed: it still has the list it forked with. */
        CHECK(privcall_decide(parent, &c, &d) == PRIVCALL_OK && d.list_sequence == 1,
              "prefork: no feed in the parent (sequence %llu)",
              (unsigned long long)d.list_sequence);
        privcall_engine_free(parent);
    }
}

/* A fleet's list in parts from a watched folder: the registry part (opened
 * with the fleet's registry identity) and JCCC's window part (with JCCC's
 * edge identity) go live merged, and decide as the whole list does. */
static void fleet_parts(void) {
    const char *keys[] = {path("authority.pub")};
    privcall_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.trust_keys = keys;
    cfg.trust_key_count = 1;
    cfg.threshold = 1;
    cfg.watch_dir = path("fleetwatch");
    cfg.poll_interval_ms = 50;
    cfg.instances = 1;
    cfg.identity_path = path("edges/JCCC.identity");
    cfg.registry_identity_path = path("registry.identity");
    cfg.inmate_key_path = path("fleet.inmatekey");
    privcall_engine *e = NULL;
    CHECK(privcall_engine_new(&cfg, &e) == PRIVCALL_OK && e, "fleet: %s", last_error());
    if (!e)
        return;
    privcall_decision d;
    memset(&d, 0, sizeof d);
    for (int i = 0; i < 200 && d.list_sequence != 7; i++) {
        privcall_call c = call_to("JCCC", "+1 573 555 0142");
        CHECK(privcall_decide(e, &c, &d) == PRIVCALL_OK, "%s", last_error());
        if (d.list_sequence != 7)
            usleep(50 * 1000);
    }
    CHECK(d.list_sequence == 7, "fleet parts went live: sequence %llu",
          (unsigned long long)d.list_sequence);
    decisions(e, 7);
    privcall_engine_free(e);
}

int main(int argc, char **argv) {
    bool fork_mode = argc == 3 && strcmp(argv[2], "--fork") == 0;
    bool prefork_mode = argc == 3 && strcmp(argv[2], "--prefork") == 0;
    if (argc < 2 || argc > 3 || (argc == 3 && !fork_mode && !prefork_mode)) {
        fprintf(stderr, "usage: %s DIR [--fork | --prefork]\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    if (argc == 3) {
        forked_workers(prefork_mode);
        printf("%d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
    }
    CHECK(privcall_abi_version() == PRIVCALL_ABI_VERSION, "abi version");
    config_errors();
    privcall_engine *e = new_engine(path("seq1.bundle"), path("state"), NULL);
    if (!e)
        return 1;
    decisions(e, 1);
    decide_errors(e);
    updates(e);
    status_and_errors(e);
    threads_during_swap(e);
    privcall_engine_free(e);
    privcall_engine_free(NULL);
    watched_folder();
    encrypted_lists();
    fleet_parts();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
