/* runtime-records.h — what a container runtime recorded about a container:
 * its name, image and labels, and the Kubernetes pod it belongs to.
 *
 * The container is the one the kernel placed (its cgroup gave the id);
 * its record is looked up by that id in the runtime's own files, never by
 * anything the caller says, and is believed only when root alone could
 * have written it.  The result is an object of "selectors" that policy
 * match keys (image, image_id, name, labels, namespace, pod, container)
 * judge, or {"unavailable": reason} when there is no record to believe:
 * then those keys match nothing. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct peer;

#define RECORDS_DOCKER_DATA_ROOT "/var/lib/docker"
#define RECORDS_PODMAN_STORAGE_ROOT "/var/lib/containers/storage"
/* Cached containers: a bounded table, the oldest entry replaced first. */
#define RECORDS_CACHE_MAX 4096

struct records_where {
        const char *docker_data_root;    /* its containers/<id>/config.v2.json */
        const char *podman_storage_root; /* its libpod/bolt_state.db, or else
                                          * overlay-containers/containers.json */
};

struct records_cache;

int records_cache_new(struct records_cache **ret);
struct records_cache *records_cache_free(struct records_cache *c);
/* Forgets every entry: the paths may have changed (a reload). */
void records_cache_flush(struct records_cache *c);
size_t records_cache_size(const struct records_cache *c);

/* Sets p->selectors for a docker or podman peer from its record (read once
 * per container and cached: a container's image and labels do not change
 * while it exists), adding what p->annotations says of its Kubernetes pod.
 * Other peers get none (NULL), unless annotations gave a pod.  An
 * unbelievable record is remembered for a few seconds only, so a fixed one
 * is read again soon.
 * -ENOMEM only; every other failure is an "unavailable" reason. */
int records_attach(struct records_cache *c, const struct records_where *w, struct peer *p);

/* Why p's record was not believed, or NULL (believed, or none looked for). */
const char *records_unavailable(const struct peer *p);

/* The parsers, pure (and fuzzed).  Docker's config.v2.json of container
 * id; Podman's (containers/storage's) containers.json, in which id is
 * looked for.  Each gives an object of selectors, or -EBADMSG with a
 * static reason in *why. */
int records_parse_docker(const char *text, size_t len, const char *id, json_t **ret, const char **why);
int records_parse_podman(const char *text, size_t len, const char *id, json_t **ret, const char **why);
/* libpod's bolt_state.db (the whole file), in which ctr/<id>/config is
 * looked for: Podman's name, image and labels. */
int records_parse_libpod(const uint8_t *db, size_t len, const char *id, json_t **ret, const char **why);
/* Adds namespace, pod and container from OCI annotations (the kubelet's
 * io.kubernetes.* keys) to sel. */
int records_add_kubernetes(json_t *sel, json_t *annotations);
