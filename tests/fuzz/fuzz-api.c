/* fuzz-api.c — request routing and bodies (api.c, and through it the
 * store, policy and leasing): method, path, query, content type and body
 * from the input, against a real store and leasing module in a temp
 * directory (fuzz-server.h), as an admin and as a container whose workload
 * is granted secrets "a" and "b".  Input:
 * "METHOD\nPATH\nk=v&k2=v2\nCONTENT-TYPE\nBODY" (an empty content type line
 * means none).  Beyond not crashing: every reply has a status in range and
 * a JSON error body when it is an error, a workload never gets a value,
 * and only the admin changes the store. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "fuzz-server.h"
#include "policy.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct server srv;
static char dir[64];
static struct peer admin_peer, workload_peer;
static const uid_t admin_uids[] = { 0 };

static int no_reload(struct server *s, char **ret) {
        (void) s;
        *ret = NULL;
        return 0;
}

static void init_once(void) {
        if (srv.config)
                return;
        fuzz_server_init(&srv, dir,
                         "[{\"name\":\"w\",\"match\":{\"runtime\":\"docker\"},"
                         "\"secrets\":[{\"name\":\"a\",\"file\":\"a.txt\",\"mode\":\"0440\"},\"b\"],"
                         "\"ttl\":\"1m\",\"max_ttl\":\"1h\"}]");
        srv.reload = no_reload;
        /* admin is decided per request against the lists in force */
        srv.attest.admin_uids = admin_uids;
        srv.attest.n_admin_uids = 1;
        admin_peer = (struct peer) { .pid = 1, .identity = (char *) "host:uid0", .cgroup = (char *) "/",
                                     .admin_capable = true, .pidfd = -1, .same_mnt_ns = true, .same_pid_ns = true,
                                     .same_user_ns = true, .cls = { .runtime = RUNTIME_HOST } };
        workload_peer = (struct peer) { .pid = 2, .uid = 1000, .gid = 1000, .identity = (char *) "docker:" ID,
                                        .cgroup = (char *) "/docker/" ID, .pidfd = -1,
                                        .cls = { .runtime = RUNTIME_DOCKER, .id = ID,
                                                 .match_len = sizeof("/docker/" ID) - 1 } };
}

/* Back to secrets "a" and "b" only, so the store does not grow with every
 * name the fuzzer makes up. */
static void reset_store(void) {
        struct store_meta *list = NULL;
        size_t n = 0;

        if (store_count(srv.store, &n) < 0)
                abort();
        if (n != 2 && store_list(srv.store, &list, &n) >= 0)
                for (size_t i = 0; i < n; i++)
                        if (strcmp(list[i].name, "a") != 0 && strcmp(list[i].name, "b") != 0)
                                (void) store_delete(srv.store, list[i].name);
        free(list);
        fuzz_put_secret(&srv, "a", "value of a");
        fuzz_put_secret(&srv, "b", "value of b");
}

static char *take_line(const uint8_t **p, size_t *n) {
        const uint8_t *nl = memchr(*p, '\n', *n);
        size_t len = nl ? (size_t) (nl - *p) : *n;
        char *s = strndup((const char *) *p, len);

        if (!s)
                abort();
        *p += nl ? len + 1 : len;
        *n -= nl ? len + 1 : len;
        return s;
}

static void check_reply(const struct reply *rep, bool as_workload) {
        json_t *err;

        if (rep->status < 200 || rep->status > 599 || !!rep->json + !!rep->value + !!rep->text != 1)
                abort();
        if (as_workload && (rep->value || rep->text))
                abort(); /* a workload never reads a value, nor the metrics */
        if (rep->status >= 400) {
                err = json_object_get(rep->json, "error");
                if (!json_is_string(json_object_get(err, "code")) || !json_is_string(json_object_get(err, "message")))
                        abort();
        }
        if (rep->status == 405 && !rep->allow)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *method, *path, *query, *ctype, *save = NULL;
        struct secbuf *body;
        struct request req = {};
        struct reply rep;

        init_once();
        method = take_line(&data, &size);
        path = take_line(&data, &size);
        query = take_line(&data, &size);
        ctype = take_line(&data, &size);
        body = secbuf_dup(data, size);
        if (!body)
                abort();
        req.method = method;
        req.path = path;
        req.content_type = ctype[0] ? ctype : NULL;
        req.body = size ? body : NULL;
        for (char *kv = strtok_r(query, "&", &save); kv && req.n_query < API_QUERY_MAX;
             kv = strtok_r(NULL, "&", &save)) {
                char *eq = strchr(kv, '=');
                if (eq)
                        *eq++ = '\0';
                req.query_keys[req.n_query] = kv;
                req.query_values[req.n_query++] = eq;
        }
        /* the workload first: what it does must not depend on the admin's */
        for (int as = 0; as < 2; as++) {
                size_t before = 0, after = 0;

                req.peer = as == 0 ? &workload_peer : &admin_peer;
                if (as == 0 && store_count(srv.store, &before) < 0)
                        abort();
                api_handle(&srv, &req, &rep);
                check_reply(&rep, as == 0);
                if (as == 0 && (store_count(srv.store, &after) < 0 || after != before))
                        abort();
                reply_done(&rep);
        }
        reset_store();
        secbuf_free(body);
        free(method);
        free(path);
        free(query);
        free(ctype);
        return 0;
}
