/* fuzz-lease-record.c — lease records as read back at a restart
 * (lease-record.c) and what recovery does with them (leasing.c): the
 * input is the text of one record file, "<id>.json" under
 * runtime_dir/leases.  Checks:
 *   - a record accepted by lease_record_load_all() holds what the rest of
 *     the daemon relies on (its id is its file's, names without '/', a
 *     mode within 0777), and saved again it reads back the same;
 *   - a damaged record is removed, not kept to fail again;
 *   - recovery (leasing_recover(), on a server with secret "a" stored)
 *     accounts for the record exactly once: kept, expired or dropped. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-server.h"
#include "lease-record.h"

#define ID "0123456789abcdef0123456789abcdef"

static struct server srv;
static char dir[64];
static int records_fd = -1, roundtrip_fd = -1;

static void init_once(void) {
        char path[128];

        if (srv.config)
                return;
        fuzz_server_init(&srv, dir, "[{\"name\":\"w\",\"match\":{\"runtime\":\"docker\"},\"secrets\":[\"a\"]}]");
        fuzz_put_secret(&srv, "a", "value of a");
        snprintf(path, sizeof(path), "%s/leases", srv.config->runtime_dir);
        records_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        snprintf(path, sizeof(path), "%s/roundtrip", dir);
        if (records_fd < 0 || mkdir(path, 0700) < 0)
                abort();
        roundtrip_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (roundtrip_fd < 0)
                abort();
}

static bool str_eq(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

struct loaded {
        unsigned n;
        struct lease *first;
        struct lease_where where;
        char *cgroup, *inject_path;
};

static void keep_first(void *userdata, struct lease *l, const struct lease_where *w) {
        struct loaded *ld = userdata;

        if (ld->n++ > 0) {
                lease_free(l);
                return;
        }
        ld->first = l;
        ld->where = *w;
        ld->cgroup = w->cgroup ? strdup(w->cgroup) : NULL;
        ld->inject_path = w->inject_path ? strdup(w->inject_path) : NULL;
        ld->where.cgroup = ld->cgroup;
        ld->where.inject_path = ld->inject_path;
}

static void loaded_done(struct loaded *ld) {
        lease_free(ld->first);
        free(ld->cgroup);
        free(ld->inject_path);
}

static void check_record(const struct lease *l, const struct lease_where *w) {
        struct loaded again = {};
        unsigned damaged = 1;

        if (!lease_id_valid(l->id) || strcmp(l->id, ID) != 0 || l->mode > 0777)
                abort();
        if (strchr(l->file, '/') || strchr(l->instance, '/') || l->file[0] == '.' || l->instance[0] == '.')
                abort();
        if (lease_record_save(roundtrip_fd, l, w) < 0 ||
            lease_record_load_all(roundtrip_fd, keep_first, &again, &damaged) < 0)
                abort();
        if (again.n != 1 || damaged != 0)
                abort();
        if (strcmp(again.first->id, l->id) != 0 || strcmp(again.first->secret, l->secret) != 0 ||
            strcmp(again.first->file, l->file) != 0 || strcmp(again.first->instance, l->instance) != 0 ||
            strcmp(again.first->workload, l->workload) != 0 || again.first->uid != l->uid ||
            again.first->gid != l->gid || again.first->mode != l->mode || again.first->version != l->version ||
            again.first->granted_usec != l->granted_usec || again.first->expires_usec != l->expires_usec ||
            again.first->max_expires_usec != l->max_expires_usec ||
            again.first->on_rotate_signal != l->on_rotate_signal || !str_eq(again.where.cgroup, w->cgroup) ||
            !str_eq(again.where.inject_path, w->inject_path) || again.where.injected_ns != w->injected_ns)
                abort();
        loaded_done(&again);
        if (lease_record_remove(roundtrip_fd, l->id) < 0)
                abort();
}

static void recover(void) {
        struct leasing_recovery rec = {};

        srv.leasing = leasing_close(srv.leasing);
        if (fuzz_open_leasing(&srv) < 0 || leasing_recover(srv.leasing, &rec) < 0)
                abort();
        if (rec.kept + rec.expired + rec.dropped != 1 || leasing_count(srv.leasing) != rec.kept)
                abort();
        /* whatever was kept has a record again; the next input starts clean */
        (void) lease_record_remove(records_fd, ID);
        srv.leasing = leasing_close(srv.leasing);
        if (fuzz_open_leasing(&srv) < 0 || leasing_recover(srv.leasing, &rec) < 0 || rec.kept + rec.expired + rec.dropped)
                abort();
}

static void put_record(const uint8_t *data, size_t size) {
        int fd = openat(records_fd, ID ".json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size) || close(fd) < 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct loaded ld = {};
        unsigned damaged = 0;
        struct stat st;

        init_once();
        put_record(data, size);
        if (lease_record_load_all(records_fd, keep_first, &ld, &damaged) < 0 || ld.n + damaged != 1)
                abort();
        /* kept when valid, removed when damaged */
        if ((fstatat(records_fd, ID ".json", &st, AT_SYMLINK_NOFOLLOW) == 0) != (ld.n == 1))
                abort();
        if (ld.first)
                check_record(ld.first, &ld.where);
        loaded_done(&ld);
        put_record(data, size); /* a damaged one is gone: recovery gets it too */
        recover();
        return 0;
}
