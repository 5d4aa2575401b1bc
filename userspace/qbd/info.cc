// qbd -i POOL/VOL|/dev/qbdN [--json]
#include <ostream>
#include <utility>
#include <vector>

#include "commands.h"
#include "device.h"

namespace qbd::cli {

namespace {

// One field of the output: its key, its text, and whether JSON quotes it.
struct Field {
	std::string key;
	std::string value;
	bool quoted = false;
};

std::vector<Field> info_fields(const Context &ctx, int dev_id, const qbd_info &i)
{
	std::vector<Field> f;
	auto num = [&](const char *k, unsigned long long v) {
		f.push_back({k, std::to_string(v), false});
	};
	auto str = [&](const char *k, std::string v) { f.push_back({k, std::move(v), true}); };

	num("dev_id", static_cast<unsigned long long>(dev_id));
	str("device", ctx.device_path(dev_id));
	str("volume", fixed_string(i.pool, sizeof(i.pool)) + "/" +
			      fixed_string(i.volume, sizeof(i.volume)));
	num("vol_id", i.vol_id);
	str("state", state_name(i.state));
	str("resume_mode", resume_mode_name(i.resume_mode));
	str("transport", transport_code_name(i.transport));
	std::string servers;
	for (uint32_t s = 0; s < i.nr_servers && s < QBD_MAX_SERVERS; s++)
		servers += (s ? "," : "") + format_server_addr(i.servers[s]);
	str("servers", servers);
	str("read_only", (i.map_flags & QBD_MAP_F_READONLY) ? "yes" : "no");
	str("digest", (i.map_flags & QBD_MAP_F_DIGEST) ? "on" : "off");
	num("size", i.size);
	num("block_size", i.block_size);
	num("shard_size", i.shard_size);
	num("layout_version", i.layout_version);
	num("open_count", i.open_count);
	num("nr_queues", i.nr_queues);
	num("io_depth", i.io_depth);
	num("io_timeout_ms", i.io_timeout_ms);
	num("conn_timeout_ms", i.conn_timeout_ms);
	num("heartbeat_interval_ms", i.hb_interval_ms);
	num("heartbeat_timeout_ms", i.hb_timeout_ms);
	num("read_bps", i.read_bps);
	num("write_bps", i.write_bps);
	num("read_iops", i.read_iops);
	num("write_iops", i.write_iops);
	num("burst_ms", i.burst_ms);
	str("config", load_state_config(ctx, dev_id, i.vol_id));
	const qbd_stats &s = i.stats;
	num("read_ios", s.read_ios);
	num("write_ios", s.write_ios);
	num("read_bytes", s.read_bytes);
	num("write_bytes", s.write_bytes);
	num("other_ios", s.other_ios);
	num("errors", s.errors);
	num("retries", s.retries);
	num("digest_errors", s.digest_errors);
	num("faults_injected", s.faults_injected);
	num("reconnects", s.reconnects);
	num("in_flight", s.in_flight);
	uint64_t done = s.read_ios + s.write_ios + s.other_ios;
	num("avg_latency_us", done ? s.total_latency_us / done : 0);
	return f;
}

}  // namespace

int run_info(Context &ctx)
{
	auto ctl = ctx.configured_control();
	if (!ctl)
		return ctx.fail(ctl.error().message, ctl.error().code);
	Control &c = **ctl;
	auto t = resolve_target(ctx, c, ctx.opts.target);
	if (!t)
		return ctx.fail(t.error().message, t.error().code);
	auto info = c.info(t->dev_id);
	if (!info) {
		if (info.error().code == ENOENT || info.error().code == ENODEV)
			return ctx.fail(ctx.device_path(t->dev_id) + " is not mapped",
					info.error().code);
		return ctx.fail("cannot read " + ctx.device_path(t->dev_id) + ": " +
					describe_ioctl_error(info.error()),
				info.error().code);
	}

	auto fields = info_fields(ctx, t->dev_id, *info);
	std::ostream &out = *ctx.out;
	if (ctx.opts.json) {
		out << "{";
		for (size_t k = 0; k < fields.size(); k++) {
			const Field &f = fields[k];
			out << (k ? "," : "") << "\n  " << json_string(f.key) << ": ";
			if (f.key == "servers") {
				// An array, one "addr:port" string each.
				out << "[";
				std::string v = f.value;
				for (size_t p = 0, n = 0; !v.empty() && p <= v.size(); n++) {
					size_t e = v.find(',', p);
					if (e == std::string::npos)
						e = v.size();
					out << (n ? ", " : "") << json_string(v.substr(p, e - p));
					p = e + 1;
				}
				out << "]";
			} else {
				out << (f.quoted ? json_string(f.value) : f.value);
			}
		}
		out << "\n}\n";
		return 0;
	}
	size_t w = 0;
	for (const Field &f : fields)
		w = std::max(w, f.key.size());
	for (const Field &f : fields)
		out << f.key << ":" << std::string(w - f.key.size() + 1, ' ') << f.value << "\n";
	return 0;
}

}  // namespace qbd::cli
