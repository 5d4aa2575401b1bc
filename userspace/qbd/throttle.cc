// qbd -s POOL/VOL|/dev/qbdN -t read_bps=B,write_bps=B,read_iops=N,write_iops=N[,burst_ms=MS]
#include "commands.h"
#include "device.h"
#include "throttle_spec.h"

namespace qbd::cli {

int run_throttle(Context &ctx)
{
	auto spec = parse_throttle_spec(ctx.opts.throttle);
	if (!spec)
		return ctx.fail("invalid throttle -t '" + ctx.opts.throttle + "': " +
				spec.error().message);
	auto ctl = ctx.configured_control();
	if (!ctl)
		return ctx.fail(ctl.error().message, ctl.error().code);
	Control &c = **ctl;
	if (auto st = require_feature(c, QBD_FEAT_THROTTLE, "throttling"); !st)
		return ctx.fail(st.error().message, st.error().code);
	auto t = resolve_target(ctx, c, ctx.opts.target);
	if (!t)
		return ctx.fail(t.error().message, t.error().code);
	// Keys left out keep what the module has now.
	auto cur = c.info(t->dev_id);
	if (!cur)
		return ctx.fail(device_ioctl_error(ctx, t->dev_id, "read", cur.error()),
				cur.error().code);
	qbd_throttle req = build_throttle_request(t->dev_id, *cur, *spec);
	ctx.log("setting read_bps " + std::to_string(req.read_bps) + ", write_bps " +
		std::to_string(req.write_bps) + ", read_iops " + std::to_string(req.read_iops) +
		", write_iops " + std::to_string(req.write_iops) + ", burst_ms " +
		std::to_string(req.burst_ms) + " on " + ctx.device_path(t->dev_id));
	if (auto st = c.set_throttle(req); !st)
		return ctx.fail(device_ioctl_error(ctx, t->dev_id, "set the throttle of",
						   st.error()),
				st.error().code);
	return 0;
}

}  // namespace qbd::cli
