// Shared-secret authentication (docs/protocol.md, "Authentication"): the
// key file, nonces and the HMAC-SHA256 proofs, on OpenSSL's libcrypto.
// Used by qbd-server (session.cc), the admin client and qbd (which hands the
// key to the module).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config.h"
#include "qbd_proto.h"
#include "result.h"

namespace qbd {

// A key: 16..64 bytes. Never printed; wiped when destroyed.
class Key {
public:
	Key() = default;
	Key(const Key &o) : bytes_(o.bytes_), len_(o.len_) {}
	Key &operator=(const Key &o);
	~Key();
	const uint8_t *data() const { return bytes_.data(); }
	size_t size() const { return len_; }
	bool empty() const { return len_ == 0; }

	// The key file's text: one line of 32..128 hex digits (16..64 bytes);
	// blank lines and '#' comments around it are allowed.
	static Result<Key> parse(std::string_view text, std::string_view source);

private:
	std::array<uint8_t, QBD_AUTH_KEY_MAX> bytes_{};
	size_t len_ = 0;
};

// Reads a key file. Refuses one that is not a regular file or that its
// group or others may read or write (the mode must be 0600 or stricter).
Result<Key> load_key_file(const std::string &path);

// The key named by a client's key_file, or nullptr when it names none.
Result<std::shared_ptr<const Key>> load_client_key(const ClientConfig &cfg);

// Overwrites @n bytes at @p in a way the compiler keeps (OPENSSL_cleanse).
void wipe(void *p, size_t n);

using Nonce = std::array<uint8_t, QBD_AUTH_NONCE_LEN>;
using Mac = std::array<uint8_t, QBD_AUTH_MAC_LEN>;

// A random nonce from the system's CSPRNG (RAND_bytes).
Result<Nonce> random_nonce();

// HMAC-SHA256(key, label | first | server_nonce): @label is
// QBD_AUTH_SERVER_LABEL or QBD_AUTH_CLIENT_LABEL, @first the client's first
// message as sent (264 bytes).
Mac auth_proof(const Key &key, const char *label, const void *first, size_t first_len,
	       const Nonce &server_nonce);

// Constant-time comparison (CRYPTO_memcmp).
bool mac_equal(const uint8_t *a, const uint8_t *b);

// Client side of the handshake for a connection whose first message
// @first (264 bytes, QBD_PF_AUTH / QBD_AF_AUTH and its nonce already in it)
// has been sent: checks the challenge and fills the proof to send back.
// On a bad server proof, @proof is the refusal (status AUTH_FAILED) that
// the client sends before it closes, and the result is an error.
Status answer_challenge(const Key &key, const void *first, size_t first_len,
			const qbd_auth_challenge &ch, qbd_auth_proof &proof);

}  // namespace qbd
