/* fuzz-api.c — request routing and bodies: method, path, query and body
 * from the input, against a real store in a temp directory, as an admin
 * and as a plain workload.  Input: "METHOD\nPATH\nk=v&k2=v2\nBODY". */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "backend.h"
#include "config.h"
#include "keys.h"
#include "policy.h"
#include "store.h"

static struct server srv;
static struct peer admin_peer, workload_peer;

static int no_reload(struct server *s, char **ret) {
        (void) s;
        *ret = NULL;
        return 0;
}

static void init_once(void) {
        static bool done;
        char dir[] = "/tmp/fuzz-api-XXXXXX", key[64], state[64];
        struct backend *b;

        if (done)
                return;
        done = true;
        if (!mkdtemp(dir) || keys_global_init() < 0)
                abort();
        snprintf(key, sizeof(key), "%s/k", dir);
        snprintf(state, sizeof(state), "%s/s", dir);
        if (keys_create_file(key) < 0 || keys_load_file(key, &srv.keys) < 0 ||
            backend_dir_open(state, STORE_BLOB_MAX, &b) < 0 ||
            store_open(b, srv.keys, 4096, &srv.store) < 0 || config_new_default(&srv.config) < 0)
                abort();
        srv.config->max_value_size = 4096;
        srv.reload = no_reload;
        admin_peer = (struct peer) { .pid = 1, .identity = (char *) "host:uid0", .cgroup = (char *) "/",
                                     .admin = true, .pidfd = -1, .cls = { .runtime = RUNTIME_HOST } };
        workload_peer = (struct peer) { .pid = 2, .uid = 1000, .identity = (char *) "docker:x",
                                        .cgroup = (char *) "/docker/x", .pidfd = -1,
                                        .cls = { .runtime = RUNTIME_DOCKER } };
}

static char *take_line(const uint8_t **p, size_t *n) {
        const uint8_t *nl = memchr(*p, '\n', *n);
        size_t len = nl ? (size_t) (nl - *p) : *n;
        char *s = strndup((const char *) *p, len);

        *p += nl ? len + 1 : len;
        *n -= nl ? len + 1 : len;
        return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *method, *path, *query, *save = NULL;
        struct secbuf *body;
        struct request req = {};
        struct reply rep;

        init_once();
        method = take_line(&data, &size);
        path = take_line(&data, &size);
        query = take_line(&data, &size);
        body = secbuf_dup(data, size);
        req.method = method;
        req.path = path;
        req.body = size ? body : NULL;
        for (char *kv = strtok_r(query, "&", &save); kv && req.n_query < API_QUERY_MAX;
             kv = strtok_r(NULL, "&", &save)) {
                char *eq = strchr(kv, '=');
                if (eq)
                        *eq++ = '\0';
                req.query_keys[req.n_query] = kv;
                req.query_values[req.n_query++] = eq;
        }
        for (int as = 0; as < 2; as++) {
                req.peer = as ? &workload_peer : &admin_peer;
                api_handle(&srv, &req, &rep);
                if (rep.status < 200 || rep.status > 599)
                        abort();
                if (as && rep.value)
                        abort(); /* a workload never reads a value through the admin routes */
                reply_done(&rep);
        }
        secbuf_free(body);
        free(method);
        free(path);
        free(query);
        return 0;
}
