#include "auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "config.h"
#include "net.h"
#include "proto.h"

namespace qbd {

Key &Key::operator=(const Key &o)
{
	bytes_ = o.bytes_;
	len_ = o.len_;
	return *this;
}

Key::~Key()
{
	OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

Result<Key> Key::parse(std::string_view text, std::string_view source)
{
	Key k;
	bool seen = false;
	unsigned lineno = 0;
	while (!text.empty()) {
		size_t nl = text.find('\n');
		std::string_view line = text.substr(0, nl);
		text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
		lineno++;
		line = ini::trim(line);
		if (line.empty() || line[0] == '#')
			continue;
		// Messages never quote the line: it is (part of) a secret.
		std::string where = std::string(source) + ":" + std::to_string(lineno) + ": ";
		if (seen)
			return make_error(EINVAL, where + "more than one key (a key file holds one line of hex)");
		if (line.size() % 2 || line.size() < 2 * QBD_AUTH_KEY_MIN || line.size() > 2 * QBD_AUTH_KEY_MAX)
			return make_error(EINVAL, where + "the key is " + std::to_string(line.size()) +
							  " characters; want an even number of hex digits, " +
							  std::to_string(2 * QBD_AUTH_KEY_MIN) + ".." +
							  std::to_string(2 * QBD_AUTH_KEY_MAX) + " (16..64 bytes)");
		for (size_t i = 0; i < line.size(); i += 2) {
			int hi = hex_val(line[i]), lo = hex_val(line[i + 1]);
			if (hi < 0 || lo < 0)
				return make_error(EINVAL, where + "the key has a character that is not a hex digit");
			k.bytes_[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
		}
		k.len_ = line.size() / 2;
		seen = true;
	}
	if (!seen)
		return make_error(EINVAL, std::string(source) + ": no key in the file (want one line of hex)");
	return k;
}

Result<Key> load_key_file(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return make_error(errno, "key file '" + path + "': " + strerror(errno));
	Fd f(fd);
	struct stat st;
	if (fstat(fd, &st))
		return make_error(errno, "key file '" + path + "': " + strerror(errno));
	if (!S_ISREG(st.st_mode))
		return make_error(EINVAL, "key file '" + path + "' is not a regular file");
	if (st.st_mode & 077) {
		char mode[8];
		snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
		return make_error(EPERM, "key file '" + path + "' has mode " + mode +
						 ": group and others must have no access (chmod 600)");
	}
	if (st.st_size > 4096)
		return make_error(EINVAL, "key file '" + path + "' is larger than 4096 bytes");
	char buf[4097];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return make_error(errno, "key file '" + path + "': " + strerror(errno));
		if (n == 0 || got + n == sizeof(buf) - 1) {
			got += n;
			break;
		}
		got += n;
	}
	auto k = Key::parse(std::string_view(buf, got), path);
	OPENSSL_cleanse(buf, sizeof(buf));
	return k;
}

Result<std::shared_ptr<const Key>> load_client_key(const ClientConfig &cfg)
{
	if (cfg.key_file.empty())
		return std::shared_ptr<const Key>();
	auto k = load_key_file(cfg.key_file);
	if (!k)
		return k.error();
	return std::make_shared<const Key>(std::move(*k));
}

void wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

Result<Nonce> random_nonce()
{
	Nonce n;
	if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1)
		return make_error(EIO, "RAND_bytes failed: no random nonce");
	return n;
}

Mac auth_proof(const Key &key, const char *label, const void *first, size_t first_len,
	       const Nonce &server_nonce)
{
	Mac out{};
	std::vector<uint8_t> msg(QBD_AUTH_LABEL_LEN + first_len + server_nonce.size());
	memcpy(msg.data(), label, QBD_AUTH_LABEL_LEN);
	memcpy(msg.data() + QBD_AUTH_LABEL_LEN, first, first_len);
	memcpy(msg.data() + QBD_AUTH_LABEL_LEN + first_len, server_nonce.data(), server_nonce.size());
	size_t out_len = 0;
	if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), msg.data(),
		       msg.size(), out.data(), out.size(), &out_len) ||
	    out_len != out.size())
		out.fill(0);  // never matches a real proof: the peer refuses
	return out;
}

bool mac_equal(const uint8_t *a, const uint8_t *b)
{
	return CRYPTO_memcmp(a, b, QBD_AUTH_MAC_LEN) == 0;
}

Status answer_challenge(const Key &key, const void *first, size_t first_len,
			const qbd_auth_challenge &ch, qbd_auth_proof &proof)
{
	memset(&proof, 0, sizeof(proof));
	fill_msg_hdr(proof.hdr, QBD_MSG_AUTH);
	if (le32(ch.hdr.magic) != QBD_PROTO_MAGIC || le16(ch.hdr.type) != QBD_MSG_AUTH ||
	    le32(ch.status) != QBD_S_OK || ch.reserved0) {
		proof.status = to_le32(QBD_S_AUTH_FAILED);
		return make_error(EPROTO, "malformed authentication challenge");
	}
	Nonce ns;
	memcpy(ns.data(), ch.server_nonce, ns.size());
	Mac want = auth_proof(key, QBD_AUTH_SERVER_LABEL, first, first_len, ns);
	if (!mac_equal(want.data(), ch.server_proof)) {
		proof.status = to_le32(QBD_S_AUTH_FAILED);
		return make_error(EACCES, "the server failed authentication: its proof does not match "
					  "our key (the keys differ)");
	}
	Mac mine = auth_proof(key, QBD_AUTH_CLIENT_LABEL, first, first_len, ns);
	proof.status = to_le32(QBD_S_OK);
	memcpy(proof.client_proof, mine.data(), mine.size());
	return ok_status();
}

}  // namespace qbd
