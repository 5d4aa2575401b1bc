// qbd -m [tcp://|rdma://]POOL/VOL [-c CONF] [--ro] [-o KEY=VALUE,...]
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ostream>

#include "commands.h"
#include "qbd_proto.h"
#include "device.h"
#include "map_options.h"
#include "map_request.h"

namespace qbd::cli {

static constexpr auto kNodeTimeout = std::chrono::seconds(10);

Result<ResolvedVolume> resolve_volume_on_servers(Context &ctx, const ClientConfig &cfg,
						 const VolumeUrl &url)
{
	std::string failures;
	bool not_found = false;
	for (const Endpoint &ep : cfg.servers) {
		ctx.log("asking " + ep.str() + " about " + url.name());
		auto client = AdminClient::connect(ep, std::chrono::seconds(cfg.conn_timeout));
		Result<VolumeInfo> info = client ? client->info(url.pool, url.volume)
						 : Result<VolumeInfo>(client.error());
		if (info) {
			ctx.log(ep.str() + ": vol_id " + std::to_string(info->vol_id) + ", size " +
				std::to_string(info->size) + ", block_size " +
				std::to_string(info->block_size) + ", shard_size " +
				std::to_string(info->shard_size) + ", layout_version " +
				std::to_string(info->layout_version));
			return ResolvedVolume{*info, ep};
		}
		if (info.error().code == ENOENT)
			not_found = true;
		failures += (failures.empty() ? "" : "; ") + ep.str() + ": " + info.error().message;
	}
	if (cfg.servers.empty())
		return make_error(EINVAL, "no servers configured ([cluster] servers)");
	if (not_found)
		return make_error(ENOENT, "volume '" + url.name() + "' not found (" + failures + ")");
	return make_error(EHOSTUNREACH, "no server could describe '" + url.name() + "' (" +
						failures + ")");
}

MapHooks system_map_hooks()
{
	MapHooks h;
	h.ensure_module = ensure_module;
	h.resolve_volume = resolve_volume_on_servers;
	h.resolve_addr = resolve_server;
	h.settle = [](Context &ctx, const std::string &dev) -> Status {
		ctx.log("waiting for " + dev);
		if (auto st = wait_for_block_device(dev, kNodeTimeout); !st)
			return st;
		ctx.log("rereading partitions of " + dev);
		if (auto st = reread_partitions(dev); !st)
			ctx.warn(st.error().message);  // mapped all the same
		return ok_status();
	};
	return h;
}

static std::string absolute_path(const std::string &p)
{
	char buf[PATH_MAX];
	if (realpath(p.c_str(), buf))
		return buf;
	return p;
}

static std::string map_error(const Error &e, const std::string &name)
{
	switch (e.code) {
	case EINVAL:
		return "the module refused to map " + name +
		       ": a value was out of range (see dmesg for which): " + e.message;
	case EEXIST:
		return "volume '" + name + "' is already mapped (" + e.message + ")";
	case EBUSY:
		return "cannot map " + name + ": the module has no free device number (at most " +
		       std::to_string(QBD_MAX_DEVICES) + " devices) (" + e.message + ")";
	default:
		return "cannot map " + name + ": " + describe_ioctl_error(e);
	}
}

int run_map(Context &ctx, const MapHooks &hooks)
{
	const Options &o = ctx.opts;
	auto url = parse_volume_url(o.target);
	if (!url)
		return ctx.fail("invalid volume '" + o.target + "': " + url.error().message);
	auto mopts = parse_map_options(o.map_options);
	if (!mopts)
		return ctx.fail("invalid option -o '" + o.map_options + "': " +
				mopts.error().message);
	auto file_cfg = ctx.load_config();
	if (!file_cfg)
		return ctx.fail(file_cfg.error().message, file_cfg.error().code);
	auto cfg = apply_map_options(*file_cfg, *mopts);
	if (!cfg)
		return ctx.fail("invalid option -o '" + o.map_options + "': " + cfg.error().message);
	ctx.log("config " + o.config_path + ": " + std::to_string(cfg->servers.size()) +
		" server(s), io_depth " + std::to_string(cfg->io_depth) + ", io_timeout " +
		std::to_string(cfg->io_timeout) + " s");

	if (auto st = hooks.ensure_module(ctx); !st)
		return ctx.fail(st.error().message, st.error().code);
	auto ctl = ctx.control();
	if (!ctl)
		return ctx.fail(ctl.error().message, ctl.error().code);
	Control &c = **ctl;

	auto feat = c.get_features();
	if (!feat)
		return ctx.fail("cannot query the module's features: " +
					describe_ioctl_error(feat.error()),
				feat.error().code);
	ctx.log("module abi " + std::to_string(feat->abi_version) + ", features 0x" +
		[&] {
			char b[20];
			snprintf(b, sizeof(b), "%llx", static_cast<unsigned long long>(feat->features));
			return std::string(b);
		}());
	if (url->transport == Transport::rdma && !(feat->features & QBD_FEAT_RDMA))
		return ctx.fail("rdma transport not supported by this module", EOPNOTSUPP);
	if (url->transport == Transport::tcp && !(feat->features & QBD_FEAT_TCP))
		return ctx.fail("tcp transport not supported by this module", EOPNOTSUPP);
	if (feat->max_io_depth && cfg->io_depth > feat->max_io_depth)
		return ctx.fail("io_depth " + std::to_string(cfg->io_depth) +
					" is above the module's limit " +
					std::to_string(feat->max_io_depth),
				EINVAL);
	if (feat->max_queues && mopts->nr_queues && *mopts->nr_queues > feat->max_queues)
		return ctx.fail("nr_queues " + std::to_string(*mopts->nr_queues) +
					" is above the module's limit " +
					std::to_string(feat->max_queues),
				EINVAL);

	auto mapped = find_mapped(c, url->pool, url->volume);
	if (!mapped)
		return ctx.fail("cannot list mapped devices: " +
					describe_ioctl_error(mapped.error()),
				mapped.error().code);
	if (*mapped)
		return ctx.fail("volume '" + url->name() + "' is already mapped as " +
					ctx.device_path(**mapped),
				EEXIST);

	auto vol = hooks.resolve_volume(ctx, *cfg, *url);
	if (!vol)
		return ctx.fail(vol.error().message, vol.error().code);
	uint16_t port = url->transport == Transport::rdma ? QBD_DEFAULT_RDMA_PORT : 0;
	auto addr = hooks.resolve_addr(vol->server, port);
	if (!addr)
		return ctx.fail(addr.error().message, addr.error().code);
	ctx.log("server " + vol->server.str() + " is " + format_server_addr(*addr));

	MapInput in;
	in.url = *url;
	in.config = *cfg;
	in.options = *mopts;
	in.volume = vol->info;
	in.servers = {*addr};
	in.readonly = o.readonly;
	auto req = build_map_request(in);
	if (!req)
		return ctx.fail(req.error().message, req.error().code);

	auto id = c.map(*req);
	if (!id)
		return ctx.fail(map_error(id.error(), url->name()), id.error().code);
	std::string dev = ctx.device_path(*id);
	ctx.log("mapped " + url->name() + " as " + dev);

	if (auto st = hooks.settle(ctx, dev); !st) {
		// Nothing changed: take the half-made device away again.
		auto undo = c.unmap(*id, false);
		return ctx.fail(st.error().message +
					(undo ? "; unmapped it again"
					      : "; unmapping it again failed too: " +
							undo.error().message),
				st.error().code);
	}
	save_state(ctx, *id, vol->info.vol_id,
		   o.config_given ? absolute_path(o.config_path) : o.config_path);
	*ctx.out << dev << "\n";
	return 0;
}

}  // namespace qbd::cli
