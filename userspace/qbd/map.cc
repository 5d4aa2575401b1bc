// qbd -m [tcp://|rdma://]POOL/VOL [-c CONF] [--ro] [-o KEY=VALUE,...]
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <thread>

#include "commands.h"
#include "qbd_proto.h"
#include "device.h"
#include "map_options.h"
#include "map_request.h"
#include "throttle_spec.h"

namespace qbd::cli {

static constexpr auto kNodeTimeout = std::chrono::seconds(10);

Result<ResolvedVolume> resolve_volume_on_servers(Context &ctx, const ClientConfig &cfg,
						 const VolumeUrl &url)
{
	std::string failures;
	bool not_found = false;
	auto key = load_client_key(cfg);
	if (!key)
		return key.error();
	for (const Endpoint &ep : cfg.servers) {
		ctx.log("asking " + ep.str() + " about " + url.name());
		auto client = AdminClient::connect(ep, std::chrono::seconds(cfg.conn_timeout), *key);
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
	h.resize_volume = resize_volume_on_servers;
	h.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
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
	case EACCES:
		return "cannot map " + name + ": authentication with the server failed (no key, "
		       "wrong key, or a server without a key; dmesg and the server log say which)";
	case EPROTONOSUPPORT:
		return "cannot map " + name + ": the server does not support data digests "
		       "(digest was asked for; upgrade qbd-server or map without digest)";
	case EBUSY:
		return "cannot map " + name + ": the module has no free device number (at most " +
		       std::to_string(QBD_MAX_DEVICES) + " devices) (" + e.message + ")";
	default:
		return "cannot map " + name + ": " + describe_ioctl_error(e);
	}
}

Result<int> map_volume(Context &ctx, const MapHooks &hooks)
{
	const Options &o = ctx.opts;
	auto url = parse_volume_url(o.target);
	if (!url)
		return make_error(EINVAL, "invalid volume '" + o.target + "': " + url.error().message);
	auto mopts = parse_map_options(o.map_options);
	if (!mopts)
		return make_error(EINVAL, "invalid option -o '" + o.map_options + "': " +
				mopts.error().message);
	if (o.throttle_given) {
		auto t = parse_throttle_spec(o.throttle);
		if (!t)
			return make_error(EINVAL, "invalid throttle -t '" + o.throttle + "': " +
							  t.error().message);
		if (t->burst_ms)
			return make_error(EINVAL, "invalid throttle -t '" + o.throttle +
							  "': burst_ms cannot be given at map time; "
							  "set it with -s after mapping");
		mopts->read_bps = t->read_bps.value_or(mopts->read_bps);
		mopts->write_bps = t->write_bps.value_or(mopts->write_bps);
		mopts->read_iops = t->read_iops.value_or(mopts->read_iops);
		mopts->write_iops = t->write_iops.value_or(mopts->write_iops);
	}
	auto file_cfg = ctx.load_config();
	if (!file_cfg)
		return make_error(file_cfg.error().code, file_cfg.error().message);
	auto cfg = apply_map_options(*file_cfg, *mopts);
	if (!cfg)
		return make_error(EINVAL, "invalid option -o '" + o.map_options + "': " + cfg.error().message);
	ctx.log("config " + o.config_path + ": " + std::to_string(cfg->servers.size()) +
		" server(s), io_depth " + std::to_string(cfg->io_depth) + ", io_timeout " +
		std::to_string(cfg->io_timeout) + " s");

	if (auto st = hooks.ensure_module(ctx); !st)
		return make_error(st.error().code, st.error().message);
	auto ctl = ctx.control();
	if (!ctl)
		return make_error(ctl.error().code, ctl.error().message);
	Control &c = **ctl;

	auto feat = c.get_features();
	if (!feat)
		return make_error(feat.error().code, "cannot query the module's features: " +
					describe_ioctl_error(feat.error()));
	ctx.log("module abi " + std::to_string(feat->abi_version) + ", features 0x" +
		[&] {
			char b[20];
			snprintf(b, sizeof(b), "%llx", static_cast<unsigned long long>(feat->features));
			return std::string(b);
		}());
	if (url->transport == Transport::rdma && !(feat->features & QBD_FEAT_RDMA))
		return make_error(EOPNOTSUPP, "rdma transport not supported by this module");
	if (url->transport == Transport::tcp && !(feat->features & QBD_FEAT_TCP))
		return make_error(EOPNOTSUPP, "tcp transport not supported by this module");
	if (feat->max_io_depth && cfg->io_depth > feat->max_io_depth)
		return make_error(EINVAL, "io_depth " + std::to_string(cfg->io_depth) +
					" is above the module's limit " +
					std::to_string(feat->max_io_depth));
	if (feat->max_queues && mopts->nr_queues && *mopts->nr_queues > feat->max_queues)
		return make_error(EINVAL, "nr_queues " + std::to_string(*mopts->nr_queues) +
					" is above the module's limit " +
					std::to_string(feat->max_queues));

	auto mapped = find_mapped(c, url->pool, url->volume);
	if (!mapped)
		return make_error(mapped.error().code, "cannot list mapped devices: " +
					describe_ioctl_error(mapped.error()));
	if (*mapped)
		return make_error(EEXIST, "volume '" + url->name() + "' is already mapped as " +
					ctx.device_path(**mapped));

	auto vol = hooks.resolve_volume(ctx, *cfg, *url);
	if (!vol)
		return make_error(vol.error().code, vol.error().message);
	uint16_t port = url->transport == Transport::rdma ? QBD_DEFAULT_RDMA_PORT : 0;
	auto addr = hooks.resolve_addr(vol->server, port);
	if (!addr)
		return make_error(addr.error().code, addr.error().message);
	ctx.log("server " + vol->server.str() + " is " + format_server_addr(*addr));

	if (cfg->digest && url->transport == Transport::rdma)
		return make_error(EOPNOTSUPP, "the data digest (digest) is TCP only: RDMA links "
					      "carry their own CRC (RoCE/InfiniBand ICRC); map " +
					      url->name() + " over tcp:// or without digest");
	if (cfg->digest && !(feat->features & QBD_FEAT_DIGEST))
		return make_error(EOPNOTSUPP, "digest is set but this module has no data digest "
					      "(no QBD_FEAT_DIGEST): load a newer qbd.ko");
	if (!cfg->key_file.empty() && !(feat->features & QBD_FEAT_AUTH))
		return make_error(EOPNOTSUPP, "key_file is set but this module cannot authenticate "
					      "(no QBD_FEAT_AUTH): load a newer qbd.ko");
	auto key = load_client_key(*cfg);
	if (!key)
		return make_error(key.error().code, key.error().message);
	MapInput in;
	in.key = *key;
	in.url = *url;
	in.config = *cfg;
	in.options = *mopts;
	in.volume = vol->info;
	in.servers = {*addr};
	in.readonly = o.readonly;
	auto req = build_map_request(in);
	if (!req)
		return make_error(req.error().code, req.error().message);

	auto id = c.map(*req);
	wipe(req->key, sizeof(req->key));
	if (!id)
		return make_error(id.error().code, map_error(id.error(), url->name()));
	std::string dev = ctx.device_path(*id);
	ctx.log("mapped " + url->name() + " as " + dev);

	if (auto st = hooks.settle(ctx, dev); !st) {
		// Nothing changed: take the half-made device away again.
		auto undo = c.unmap(*id, false);
		return make_error(st.error().code, st.error().message +
					(undo ? "; unmapped it again"
					      : "; unmapping it again failed too: " +
							undo.error().message));
	}
	save_state(ctx, *id, vol->info.vol_id,
		   o.config_given ? absolute_path(o.config_path) : o.config_path);
	return *id;
}

int run_map(Context &ctx, const MapHooks &hooks)
{
	auto id = map_volume(ctx, hooks);
	if (!id)
		return ctx.fail(id.error().message, id.error().code);
	*ctx.out << ctx.device_path(*id) << "\n";
	return 0;
}

}  // namespace qbd::cli
