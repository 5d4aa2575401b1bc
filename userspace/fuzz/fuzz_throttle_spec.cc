// libFuzzer target: throttle specs (qbd/throttle_spec.cc
// parse_throttle_spec, `qbd -t`) and building the ioctl from them.
// Invariants: an accepted spec is not empty, burst_ms is within its limit,
// and the ioctl struct carries exactly the keys given.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "fuzz_util.h"
#include "throttle_spec.h"

using namespace qbd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view s(reinterpret_cast<const char *>(data), size);
	auto t = cli::parse_throttle_spec(s);
	if (!t) {
		if (t.error().message.empty())
			fuzz::die("error without a message");
		return 0;
	}
	if (t->empty())
		fuzz::die("accepted an empty spec");
	if (t->burst_ms && *t->burst_ms > cli::kMaxBurstMs)
		fuzz::die("burst_ms over the limit accepted");
	qbd_info cur;
	memset(&cur, 0xa5, sizeof(cur));
	qbd_throttle r = cli::build_throttle_request(3, cur, *t);
	if (t->read_bps && r.read_bps != *t->read_bps)
		fuzz::die("read_bps not carried");
	if (t->write_iops && r.write_iops != *t->write_iops)
		fuzz::die("write_iops not carried");
	return 0;
}
