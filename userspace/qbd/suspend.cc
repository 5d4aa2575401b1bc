// qbd -S POOL/VOL|/dev/qbdN
// qbd -R POOL/VOL|/dev/qbdN [-t normal|error|discard]
#include "commands.h"
#include "device.h"

namespace qbd::cli {

namespace {

struct Opened {
	std::unique_ptr<Control> ctl;
	Target target;
};

Result<Opened> open_target(Context &ctx)
{
	auto ctl = ctx.configured_control();
	if (!ctl)
		return ctl.error();
	if (auto st = require_feature(**ctl, QBD_FEAT_SUSPEND, "suspend and resume"); !st)
		return st.error();
	auto t = resolve_target(ctx, **ctl, ctx.opts.target);
	if (!t)
		return t.error();
	return Opened{std::move(*ctl), *t};
}

}  // namespace

int run_suspend(Context &ctx)
{
	auto o = open_target(ctx);
	if (!o)
		return ctx.fail(o.error().message, o.error().code);
	int id = o->target.dev_id;
	ctx.log("suspending " + ctx.device_path(id));
	// Suspending a suspended device is a no-op in the module, and fine here.
	if (auto st = o->ctl->suspend(id); !st)
		return ctx.fail(device_ioctl_error(ctx, id, "suspend", st.error()),
				st.error().code);
	return 0;
}

int run_resume(Context &ctx)
{
	std::string name = ctx.opts.throttle_given ? ctx.opts.throttle : "normal";
	auto mode = parse_resume_mode(name);
	if (!mode)
		return ctx.fail("invalid -t: " + mode.error().message, EINVAL);
	auto o = open_target(ctx);
	if (!o)
		return ctx.fail(o.error().message, o.error().code);
	int id = o->target.dev_id;
	ctx.log("resuming " + ctx.device_path(id) + " (" + name + ")");
	if (auto st = o->ctl->resume(id, *mode); !st)
		return ctx.fail(device_ioctl_error(ctx, id, "resume", st.error()),
				st.error().code);
	return 0;
}

}  // namespace qbd::cli
