/* leasing-rotate.c — a new version reaches every live file of its secret
 * (see leasing_rotate() in leasing.h): all the files first, then one
 * on_rotate signal per instance.  Part of leasing: it works on the lease
 * table and the instances through leasing-internal.h. */
#include <string.h>

#include "leasing-internal.h"
#include "secretd/cleanup.h"
#include "secretd/secbuf.h"

int leasing_rotate(struct leasing *l, const char *secret, size_t *ret_updated) {
        _cleanup_(secbuf_freep) struct secbuf *value = NULL;
        struct store_version v;
        size_t n = 0;
        int r, first_error = 0;

        if (leasing_count_secret(l, secret) == 0) {
                *ret_updated = 0;
                return 0;
        }
        r = store_read(l->store, secret, 0, &value, &v);
        if (r < 0)
                return r;
        /* Files first, all of them; signals only once every file is new. */
        for (size_t i = 0; i < l->table.n; i++) {
                struct lease *ls = l->table.v[i];
                struct instance *in = ls->owner;

                if (strcmp(ls->secret, secret) != 0 || !in)
                        continue;
                /* never a new version into a right the policy took back,
                 * and nothing for a file that holds it already (this host's
                 * own rotation, come back from the other hosts' watch) */
                if (!lease_in_force(l->policy, ls) || ls->version == v.version)
                        continue;
                if (ls->on_rotate_signal)
                        in->rotate_signal = ls->on_rotate_signal;
                r = lease_file_write(in->dir, v.kind, ls->file, value, ls->uid, ls->gid, ls->mode);
                if (r < 0) {
                        if (!first_error)
                                first_error = r;
                        continue;
                }
                ls->version = v.version;
                n++;
        }
        /* one signal per instance, however many files it has (marked above:
         * looking each instance's lease up again here would cost
         * instances x leases) */
        for (size_t i = 0; i < l->n_inst; i++) {
                struct instance *in = l->inst[i];

                if (in->rotate_signal) {
                        instance_signal(l, in, in->rotate_signal, secret);
                        in->rotate_signal = 0;
                }
        }
        *ret_updated = n;
        return first_error;
}
