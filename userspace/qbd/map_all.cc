// qbd -M [-f FILE] [--retry-timeout S]: map every volume of the map file.
// qbd -U [-f FILE] [--force]: unmap them.
//
// Bad lines are reported with their number and skipped; the rest are
// mapped. A volume whose servers do not answer yet is retried with backoff
// (0.5 s doubling to 8 s) until --retry-timeout; one already mapped counts
// as done. The exit status is 1 when any line or volume failed.
#include <algorithm>
#include <ostream>

#include "commands.h"
#include "device.h"
#include "map_conf.h"

namespace qbd::cli {

namespace {

bool retryable(int code)
{
	switch (code) {
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ECONNREFUSED:
	case ECONNRESET:
	case ETIMEDOUT:
	case EHOSTDOWN:
	case EAGAIN:
		return true;
	default:
		return false;
	}
}

std::string where(const Context &ctx, const MapConfEntry &e)
{
	return ctx.opts.map_file + ":" + std::to_string(e.line) + ": " + e.url.name() + ": ";
}

// The options -m would have had for this line.
Context entry_context(const Context &ctx, const MapConfEntry &e)
{
	Context sub = ctx;
	sub.opts.command = Command::map;
	sub.opts.target = e.text;
	if (!e.config.empty()) {
		sub.opts.config_path = e.config;
		sub.opts.config_given = true;
	}
	sub.opts.throttle_given = false;
	if (e.limits) {
		sub.opts.throttle = "read_bps=" + std::to_string(e.limits->read_bps) +
				    ",write_bps=" + std::to_string(e.limits->write_bps) +
				    ",read_iops=" + std::to_string(e.limits->read_iops) +
				    ",write_iops=" + std::to_string(e.limits->write_iops);
		sub.opts.throttle_given = true;
	}
	return sub;
}

Result<MapConf> load(Context &ctx)
{
	auto mc = load_map_conf(ctx.opts.map_file);
	if (!mc)
		return mc.error();
	for (const auto &msg : mc->errors)
		ctx.fail(msg, EINVAL);
	return mc;
}

}  // namespace

int run_map_all(Context &ctx, const MapHooks &hooks)
{
	auto mc = load(ctx);
	if (!mc)
		return ctx.fail(mc.error().message, mc.error().code);
	bool failed = !mc->errors.empty();
	if (mc->entries.empty()) {
		ctx.log(ctx.opts.map_file + " lists no volumes");
		return failed ? 1 : 0;
	}
	if (auto st = hooks.ensure_module(ctx); !st)
		return ctx.fail(st.error().message, st.error().code);

	std::vector<const MapConfEntry *> pending;
	for (const auto &e : mc->entries)
		pending.push_back(&e);
	auto start = std::chrono::steady_clock::now();
	auto budget = std::chrono::seconds(ctx.opts.retry_timeout);
	std::chrono::milliseconds slept{0}, backoff{500};
	for (int attempt = 1;; attempt++) {
		std::vector<const MapConfEntry *> again;
		std::vector<Error> last;
		for (const MapConfEntry *e : pending) {
			Context sub = entry_context(ctx, *e);
			auto ctl = ctx.control();
			if (!ctl)
				return ctx.fail(ctl.error().message, ctl.error().code);
			auto mapped = find_mapped(**ctl, e->url.pool, e->url.volume);
			ctl->reset();
			if (mapped && *mapped) {
				*ctx.out << e->url.name() << " " << ctx.device_path(**mapped)
					 << " (already mapped)\n";
				continue;
			}
			auto id = map_volume(sub, hooks);
			if (id) {
				*ctx.out << e->url.name() << " " << ctx.device_path(*id) << "\n";
				continue;
			}
			if (id.error().code == EEXIST) {  // mapped meanwhile
				*ctx.out << e->url.name() << " (already mapped)\n";
				continue;
			}
			if (retryable(id.error().code)) {
				again.push_back(e);
				last.push_back(id.error());
				continue;
			}
			ctx.fail(where(ctx, *e) + id.error().message, id.error().code);
			failed = true;
		}
		if (again.empty())
			break;
		auto elapsed = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
						std::chrono::steady_clock::now() - start),
					slept);
		if (elapsed + backoff > budget) {
			for (size_t i = 0; i < again.size(); i++)
				ctx.fail(where(ctx, *again[i]) + last[i].message + " (gave up after " +
						 std::to_string(attempt) + " attempt" +
						 (attempt == 1 ? "" : "s") + ", --retry-timeout " +
						 std::to_string(ctx.opts.retry_timeout) + " s)",
					 last[i].code);
			failed = true;
			break;
		}
		for (size_t i = 0; i < again.size(); i++)
			ctx.log(where(ctx, *again[i]) + last[i].message + "; retrying in " +
				std::to_string(backoff.count()) + " ms");
		hooks.sleep(backoff);
		slept += backoff;
		backoff = std::min(backoff * 2, std::chrono::milliseconds(8000));
		pending = std::move(again);
	}
	return failed ? 1 : 0;
}

int run_unmap_all(Context &ctx)
{
	auto mc = load(ctx);
	if (!mc)
		return ctx.fail(mc.error().message, mc.error().code);
	bool failed = !mc->errors.empty();
	if (mc->entries.empty())
		return failed ? 1 : 0;
	auto ctl = ctx.control();
	if (!ctl)
		return ctx.fail(ctl.error().message, ctl.error().code);
	Control &c = **ctl;
	// Last mapped, first unmapped.
	for (auto it = mc->entries.rbegin(); it != mc->entries.rend(); ++it) {
		const MapConfEntry &e = *it;
		auto mapped = find_mapped(c, e.url.pool, e.url.volume);
		if (!mapped) {
			ctx.fail(where(ctx, e) + "cannot list mapped devices: " +
					 describe_ioctl_error(mapped.error()),
				 mapped.error().code);
			failed = true;
			continue;
		}
		if (!*mapped) {
			ctx.log(e.url.name() + " is not mapped");
			continue;
		}
		int id = **mapped;
		std::string dev = ctx.device_path(id);
		if (auto st = c.unmap(id, ctx.opts.force); !st) {
			if (st.error().code == EBUSY)
				ctx.fail(where(ctx, e) + dev + " is in use (mounted or open); use "
							       "--force to fail its IO and unmap anyway",
					 EBUSY);
			else if (st.error().code != ENOENT)  // gone meanwhile is fine
				ctx.fail(where(ctx, e) + "cannot unmap " + dev + ": " +
						 describe_ioctl_error(st.error()),
					 st.error().code);
			failed = failed || st.error().code != ENOENT;
			continue;
		}
		remove_state(ctx, id);
		*ctx.out << e.url.name() << " " << dev << " unmapped\n";
	}
	return failed ? 1 : 0;
}

}  // namespace qbd::cli
