// qbd -u POOL/VOL|/dev/qbdN [--force]
#include "commands.h"
#include "device.h"

namespace qbd::cli {

int run_unmap(Context &ctx)
{
	auto ctl = ctx.configured_control();
	if (!ctl)
		return ctx.fail(ctl.error().message, ctl.error().code);
	Control &c = **ctl;

	auto t = resolve_target(ctx, c, ctx.opts.target);
	if (!t)
		return ctx.fail(t.error().message, t.error().code);
	std::string dev = ctx.device_path(t->dev_id);
	if (t->name.empty()) {
		// Only for the messages: which volume this is.
		if (auto info = c.info(t->dev_id); info)
			t->name = fixed_string(info->pool, sizeof(info->pool)) + "/" +
				  fixed_string(info->volume, sizeof(info->volume));
	}
	std::string what = t->name.empty() ? dev : dev + " (" + t->name + ")";

	ctx.log(std::string(ctx.opts.force ? "force-" : "") + "unmapping " + what);
	auto st = c.unmap(t->dev_id, ctx.opts.force);
	if (!st) {
		const Error &e = st.error();
		if (e.code == EBUSY)
			return ctx.fail(what + " is in use (mounted or open); use --force to "
					       "fail its IO and unmap anyway",
					e.code);
		if (e.code == ENOENT || e.code == ENODEV)
			return ctx.fail(dev + " is not mapped", e.code);
		return ctx.fail("cannot unmap " + what + ": " + describe_ioctl_error(e), e.code);
	}
	remove_state(ctx, t->dev_id);
	ctx.log("unmapped " + what);
	return 0;
}

}  // namespace qbd::cli
