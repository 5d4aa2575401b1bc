// libFuzzer target: one whole server connection, driven without sockets.
// The input is the byte stream a client sends; it is framed the way the
// reactor (server/reactor.cc) frames it: an 8-byte message header
// (check_msg_hdr), a hello or admin request (handle_hello / handle_admin,
// more admin requests may follow on an admin connection), then after a
// good hello 72-byte requests (check_req against the current geometry)
// with their WRITE payloads, executed synchronously (execute_sync) on a
// scratch 8 MiB volume. A truncated message ends the stream like an EOF.
// Invariants: executed requests stay inside the volume file, the volume's
// open count returns to zero, nothing is written outside the data dir.
#include <sys/stat.h>

#include <vector>

#include "fuzz_util.h"
#include "session.h"

using namespace qbd;

static constexpr uint64_t kVolSize = 8ull << 20;
static constexpr int kMaxMessages = 64;

namespace {
struct Stream {
	const uint8_t *p;
	size_t left;
	bool take(void *out, size_t n)
	{
		if (left < n)
			return false;
		if (out)
			memcpy(out, p, n);
		p += n;
		left -= n;
		return true;
	}
};
}  // namespace

static void run_io(server::Catalog &cat, Stream &s, const server::HelloResult &hr)
{
	static std::vector<uint8_t> buf(QBD_PROTO_MAX_IO);
	for (int n = 0; n < kMaxMessages; n++) {
		qbd_req req;
		if (!s.take(&req, sizeof(req)))
			return;
		ReqVerdict v = check_req(req, server::current_geometry(hr.geo, *hr.volume));
		if (v.action == ReqVerdict::kClose)
			return;
		if (v.action == ReqVerdict::kReply) {
			if (!s.take(nullptr, v.discard_payload))
				return;
			continue;
		}
		uint32_t len = le32(req.length);
		if (req.opcode == QBD_OP_WRITE && !s.take(buf.data(), len))
			return;
		(void)server::execute_sync(*hr.volume, req, buf.data());
		struct stat st;
		std::string path = cat.data_dir() + "/volumes/" + std::to_string(hr.geo.vol_id) + ".vol";
		if (stat(path.c_str(), &st) < 0 || static_cast<uint64_t>(st.st_size) != kVolSize)
			fuzz::die("volume file size changed: " + path);
	}
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fuzz::ScratchCatalog *sc = new fuzz::ScratchCatalog;
	sc->reset();
	if (!sc->cat().create("pool", "vol", kVolSize, 4096, 1 << 20))
		fuzz::die("cannot create the volume");
	server::Limits lim;
	Stream s{data, size};
	bool admin = false;
	for (int n = 0; n < kMaxMessages; n++) {
		qbd_msg_hdr h;
		if (s.left < sizeof(h))
			break;
		memcpy(&h, s.p, sizeof(h));
		if (!server::check_msg_hdr(h).empty() || (admin && le16(h.type) != QBD_MSG_ADMIN))
			break;
		static_assert(sizeof(qbd_hello) == sizeof(qbd_admin_req));
		if (le16(h.type) == QBD_MSG_HELLO) {
			qbd_hello hello;
			if (!s.take(&hello, sizeof(hello)))
				break;
			server::HelloResult hr = server::handle_hello(sc->cat(), hello, lim);
			if (!hr.volume)
				break;
			run_io(sc->cat(), s, hr);
			sc->cat().close_volume(hr.volume);
			break;
		}
		qbd_admin_req req;
		if (!s.take(&req, sizeof(req)))
			break;
		admin = true;
		(void)server::handle_admin(sc->cat(), req);
	}
	auto l = sc->cat().list("");
	if (!l)
		fuzz::die("list: " + l.error().message);
	for (auto &i : *l)
		if (i.open_count)
			fuzz::die("volume left open when the connection ended");
	sc->check_contained();
	return 0;
}
