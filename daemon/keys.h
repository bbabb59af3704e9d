/* keys.h — the master key and everything that touches it.
 *
 * Only keys.c ever sees the master key.  Other modules hand it plaintext to
 * seal or sealed bytes to open, bound to a secret's name: the per-secret key
 * is derived from the master key and the name, so a sealed blob moved to
 * another name fails to open. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "secretd/secbuf.h"

#define KEYS_MASTER_SIZE 32
/* Bytes keys_seal() adds to a plaintext: nonce and MAC. */
#define KEYS_SEAL_OVERHEAD (24 + 16)
#define KEYS_CREDENTIAL_NAME "master.key"

struct keys;

/* Initialises libsodium; call once before anything else here. */
int keys_global_init(void);

/* Creates a new random master key file at path (mode 0400), atomically and
 * durably.  Never overwrites: -EEXIST when path exists. */
int keys_create_file(const char *path);

/* Loads the master key from path.  -EMSGSIZE when the file is not exactly
 * KEYS_MASTER_SIZE bytes, -EPERM when group or others may read it or it is
 * not owned by us, -EBADF when it is not a regular file. */
int keys_load_file(const char *path, struct keys **ret);

/* Where the key comes from: $CREDENTIALS_DIRECTORY/master.key when that
 * exists (systemd credential), else path.  ret_path is malloc'd. */
int keys_locate(const char *path, char **ret_path);

/* How long the master key stays readable after its last use. */
#define KEYS_LOCK_IDLE_MS 20

/* Makes the master key PROT_NONE again once derivations have not used it
 * for KEYS_LOCK_IDLE_MS; the main loop calls it before it waits.  Returns
 * the milliseconds until it must be called again to lock, or -1 when the
 * key is locked. */
int keys_lock_idle(struct keys *k);
struct keys *keys_free(struct keys *k);
void keys_freep(struct keys **k);

/* Seals plain under the key for name: ret_blob = nonce || MAC || ciphertext,
 * len + KEYS_SEAL_OVERHEAD bytes, malloc'd. */
int keys_seal(struct keys *k, const char *name, const uint8_t *plain, size_t len,
              uint8_t **ret_blob, size_t *ret_len);

/* Opens a blob sealed for name.  -EBADMSG when it does not authenticate
 * (wrong key, wrong name, corruption). */
int keys_open(struct keys *k, const char *name, const uint8_t *blob, size_t len,
              struct secbuf **ret_plain);
