// SPDX-License-Identifier: GPL-2.0
/*
 * qbd authentication key: the map's key goes into an "hmac(sha256)"
 * transform at create time and is wiped from the map copy at once, so the
 * device holds it in one place only (the crypto API frees that copy with
 * kfree_sensitive). The handshake itself is in qbd_tcp.c, the message
 * building and checking in qbd_proto.c.
 */
#include <crypto/hash.h>
#include <linux/err.h>
#include <linux/string.h>
#include "qbd.h"

static_assert(QBD_KEY_MAX == QBD_AUTH_KEY_MAX, "uapi and wire key limits");
static_assert(QBD_KEY_MIN == QBD_AUTH_KEY_MIN, "uapi and wire key limits");

/**
 * qbd_auth_init - take the key out of qdev->cfg
 * @qdev: device being created; cfg validated (key_len 0 or 16..64)
 *
 * Return: 0 (also with no key), or -errno with the key wiped all the same.
 */
int qbd_auth_init(struct qbd_device *qdev)
{
	struct qbd_map *m = &qdev->cfg;
	struct crypto_shash *tfm;
	int ret = 0;

	if (!m->key_len)
		return 0;
	tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(tfm)) {
		ret = PTR_ERR(tfm);
		pr_warn("MAP %s/%s: no hmac(sha256) in this kernel (%d)\n",
			m->pool, m->volume, ret);
		goto out_wipe;
	}
	ret = crypto_shash_setkey(tfm, m->key, m->key_len);
	if (ret) {
		pr_warn("MAP %s/%s: setting the HMAC key failed (%d)\n",
			m->pool, m->volume, ret);
		crypto_free_shash(tfm);
		goto out_wipe;
	}
	qdev->auth_tfm = tfm;
out_wipe:
	memzero_explicit(m->key, sizeof(m->key));
	return ret;
}

/* Frees the transform, and with it the key (crypto_destroy_tfm wipes it). */
void qbd_auth_free(struct qbd_device *qdev)
{
	if (qdev->auth_tfm)
		crypto_free_shash(qdev->auth_tfm);
	qdev->auth_tfm = NULL;
}
