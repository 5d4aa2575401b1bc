// qbd -z [tcp://]POOL/VOL|/dev/qbdN -k SIZE: grow the volume on its server,
// then the mapped device (QBD_IOC_RESIZE). Grow only.
#include "commands.h"
#include "config.h"
#include "device.h"

namespace qbd::cli {

Result<VolumeInfo> resize_volume_on_servers(Context &ctx, const ClientConfig &cfg,
					    const VolumeUrl &url, uint64_t new_size)
{
	auto where = resolve_volume_on_servers(ctx, cfg, url);
	if (!where)
		return where.error();
	if (where->info.size == new_size) {
		ctx.log(url.name() + " is already " + std::to_string(new_size) +
			" bytes on " + where->server.str());
		return where->info;
	}
	ctx.log("asking " + where->server.str() + " to grow " + url.name() + " to " +
		std::to_string(new_size) + " bytes");
	auto key = load_client_key(cfg);
	if (!key)
		return key.error();
	auto client = AdminClient::connect(where->server, std::chrono::seconds(cfg.conn_timeout), *key);
	if (!client)
		return client.error();
	return client->resize(url.pool, url.volume, new_size);
}

static std::string bytes_text(uint64_t n)
{
	static const char *units[] = {"", "K", "M", "G", "T"};
	int u = 0;
	uint64_t v = n;
	while (u < 4 && v && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	std::string s = std::to_string(n) + " bytes";
	if (u)
		s += " (" + std::to_string(v) + units[u] + ")";
	return s;
}

int run_resize(Context &ctx, const MapHooks &hooks)
{
	auto size = parse_size(ctx.opts.size);
	if (!size)
		return ctx.fail("invalid size -k '" + ctx.opts.size + "': " + size.error().message,
				EINVAL);
	auto cfg = ctx.load_config();
	if (!cfg)
		return ctx.fail(cfg.error().message, cfg.error().code);
	auto ctl = ctx.control();
	if (!ctl)
		return ctx.fail(ctl.error().message, ctl.error().code);
	Control &c = **ctl;
	if (auto st = require_feature(c, QBD_FEAT_RESIZE, "online resize"); !st)
		return ctx.fail(st.error().message, st.error().code);
	auto t = resolve_target(ctx, c, ctx.opts.target);
	if (!t)
		return ctx.fail(t.error().message, t.error().code);
	auto info = c.info(t->dev_id);
	if (!info)
		return ctx.fail(device_ioctl_error(ctx, t->dev_id, "read", info.error()),
				info.error().code);
	std::string dev = ctx.device_path(t->dev_id);

	// Everything the module and the server would refuse, before either changes.
	if (*size < info->size)
		return ctx.fail("new size " + bytes_text(*size) + " is smaller than the current " +
					bytes_text(info->size) + " of " + dev +
					"; qbd only grows volumes, nothing changed",
				EINVAL);
	if (info->block_size && *size % info->block_size)
		return ctx.fail("new size " + bytes_text(*size) +
					" is not a multiple of the block size " +
					std::to_string(info->block_size) + " of " + dev +
					"; nothing changed",
				EINVAL);

	VolumeUrl url;
	url.pool = fixed_string(info->pool, sizeof(info->pool));
	url.volume = fixed_string(info->volume, sizeof(info->volume));
	auto grown = hooks.resize_volume(ctx, *cfg, url, *size);
	if (!grown) {
		std::string msg = "cannot grow " + url.name() + " on the server: " +
				  grown.error().message;
		if (msg.find("nothing changed") == std::string::npos)
			msg += "; nothing changed";
		return ctx.fail(msg, grown.error().code);
	}
	if (grown->size != *size)
		return ctx.fail("the server reports " + url.name() + " at " +
					bytes_text(grown->size) + " after growing it to " +
					bytes_text(*size) + "; " + dev + " left at " +
					bytes_text(info->size),
				EPROTO);
	if (*size == info->size) {
		ctx.log(dev + " is already " + bytes_text(*size));
		return 0;
	}
	ctx.log("growing " + dev + " from " + bytes_text(info->size) + " to " + bytes_text(*size));
	if (auto st = c.resize(t->dev_id, *size); !st)
		return ctx.fail(device_ioctl_error(ctx, t->dev_id, "resize", st.error()) +
					" (the volume already has the new size on the server; "
					"run qbd -z again)",
				st.error().code);
	return 0;
}

}  // namespace qbd::cli
