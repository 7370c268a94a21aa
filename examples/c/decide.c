/* What an Asterisk or FreeSWITCH module does with privcall, in brief:
 * one engine per process (per worker, after fork), then one decide per call
 * setup. Build: cc -I include decide.c -L target/release -lprivcall
 * Run: ./a.out authority.pub list.bundle */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "privcall.h"

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s KEY.pub LIST.bundle\n", argv[0]); return 2; }
    const char *keys[] = {argv[1]};
    privcall_config cfg = {.trust_keys = keys, .trust_key_count = 1, .threshold = 1,
                           .bundle_path = argv[2], .instances = 1};
    privcall_engine *engine;
    if (privcall_engine_new(&cfg, &engine) != PRIVCALL_OK) {
        char msg[256];
        privcall_last_error(msg, sizeof msg);
        fprintf(stderr, "privcall: %s\n", msg);
        return 1;
    }
    const char *dialed[] = {"9-1 (573) 555-0142", "573-555-0100"};
    for (int i = 0; i < 2; i++) {
        privcall_call call = {.facility = "JCCC", .facility_len = 4, .inmate = "A1001",
                              .inmate_len = 5, .dialed = dialed[i],
                              .dialed_len = strlen(dialed[i]), .at = time(NULL)};
        privcall_decision d;
        if (privcall_decide(engine, &call, &d) != PRIVCALL_OK) {
            puts("error: the module applies the facility's fail mode itself");
            continue;
        }
        printf("%s record=%s reason=%s\n", d.normalized, d.record ? "yes" : "no", d.reason_name);
    }
    privcall_engine_free(engine);
    return 0;
}
