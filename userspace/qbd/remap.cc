// qbd -r [tcp://|rdma://]POOL/VOL|/dev/qbdN: re-resolve a mapped volume's
// layout (servers from the config, vol_id/size/layout_version from the
// server that knows it, as -m does) and hand it to the device
// (QBD_IOC_REMAP). The device switches connections without failing IO.
#include <optional>

#include "commands.h"
#include "device.h"
#include "qbd_proto.h"

namespace qbd::cli {

// The config to re-resolve with: -c, else the one the device was mapped
// with (/run/qbd), else the default.
static Result<ClientConfig> remap_config(Context &ctx, int dev_id, uint64_t vol_id)
{
	if (!ctx.opts.config_given) {
		std::string saved = load_state_config(ctx, dev_id, vol_id);
		if (saved != "-") {
			ctx.log("using " + saved + ", the config " + ctx.device_path(dev_id) +
				" was mapped with");
			return load_client_config(saved, true);
		}
	}
	return ctx.load_config();
}

Result<std::string> remap_device(Context &ctx, Control &c, const MapHooks &hooks, int dev_id,
				 const std::optional<VolumeUrl> &given)
{
	std::string dev = ctx.device_path(dev_id);
	auto info = c.info(dev_id);
	if (!info)
		return make_error(info.error().code,
				  device_ioctl_error(ctx, dev_id, "read", info.error()));
	VolumeUrl url;
	url.pool = fixed_string(info->pool, sizeof(info->pool));
	url.volume = fixed_string(info->volume, sizeof(info->volume));
	url.transport = info->transport == QBD_TRANSPORT_RDMA ? Transport::rdma : Transport::tcp;
	// An explicit other transport switches the device to it (the module
	// refuses TCP -> RDMA for a device mapped over TCP: its queue limits).
	if (given && given->explicit_transport && given->transport != url.transport) {
		ctx.log("switching " + dev + " from " + transport_name(url.transport) + " to " +
			transport_name(given->transport));
		url.transport = given->transport;
	}

	auto cfg = remap_config(ctx, dev_id, info->vol_id);
	if (!cfg)
		return cfg.error();
	auto vol = hooks.resolve_volume(ctx, *cfg, url);
	if (!vol)
		return make_error(vol.error().code, "cannot resolve " + url.name() + ": " +
							    vol.error().message + "; nothing changed");
	const VolumeInfo &v = vol->info;
	if (v.vol_id != info->vol_id)
		return make_error(EINVAL, vol->server.str() + " has " + url.name() + " as vol_id " +
						  std::to_string(v.vol_id) + " but " + dev +
						  " maps vol_id " + std::to_string(info->vol_id) +
						  " (a different volume under the same name); "
						  "nothing changed");
	if (v.size < info->size)
		return make_error(EINVAL, vol->server.str() + " reports " + url.name() + " at " +
						  std::to_string(v.size) + " bytes, smaller than the " +
						  std::to_string(info->size) + " of " + dev +
						  "; nothing changed");
	uint16_t port = url.transport == Transport::rdma ? QBD_DEFAULT_RDMA_PORT : 0;
	auto addr = hooks.resolve_addr(vol->server, port);
	if (!addr)
		return make_error(addr.error().code, addr.error().message + "; nothing changed");

	qbd_remap r = make_remap_struct(dev_id);
	r.nr_servers = 1;
	r.servers[0] = *addr;
	r.layout_version = v.layout_version;
	r.transport = url.transport == Transport::rdma ? QBD_TRANSPORT_RDMA : QBD_TRANSPORT_TCP;
	r.vol_id = v.vol_id;
	r.size = v.size;
	std::string where = format_server_addr(*addr) + ", layout " +
			    std::to_string(v.layout_version) + ", " + std::to_string(v.size) +
			    " bytes";
	ctx.log("remapping " + dev + " to " + where);
	if (auto st = c.remap(r); !st) {
		if (st.error().code == EINVAL || st.error().code == EOPNOTSUPP)
			return make_error(st.error().code,
					  "the module refused to remap " + dev +
						  " (see dmesg for which rule): " +
						  describe_ioctl_error(st.error()) +
						  "; nothing changed");
		return make_error(st.error().code,
				  "remapped " + dev + " to " + where +
					  " but connecting failed: " +
					  describe_ioctl_error(st.error()) +
					  "; the device keeps retrying");
	}
	return dev + " (" + url.name() + ") remapped to " + transport_name(url.transport) + " " +
	       where;
}

int run_remap(Context &ctx, const MapHooks &hooks)
{
	auto ctl = ctx.configured_control();
	if (!ctl)
		return ctx.fail(ctl.error().message, ctl.error().code);
	Control &c = **ctl;
	if (auto st = require_feature(c, QBD_FEAT_REMAP, "remap"); !st)
		return ctx.fail(st.error().message, st.error().code);
	std::optional<VolumeUrl> given;
	const std::string &arg = ctx.opts.target;
	if (!arg.empty() && arg[0] != '/' && arg.find('/') != std::string::npos) {
		auto url = parse_volume_url(arg);
		if (!url)
			return ctx.fail("invalid volume '" + arg + "': " + url.error().message,
					EINVAL);
		given = *url;
	}
	auto t = resolve_target(ctx, c, arg);
	if (!t)
		return ctx.fail(t.error().message, t.error().code);
	auto done = remap_device(ctx, c, hooks, t->dev_id, given);
	if (!done)
		return ctx.fail(done.error().message, done.error().code);
	*ctx.out << *done << "\n";
	return 0;
}

}  // namespace qbd::cli
