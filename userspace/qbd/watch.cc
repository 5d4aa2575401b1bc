// qbd --watch: subscribe to the module's remap events (generic netlink
// family "qbd", multicast group "events") and run what -r does for the
// device each event names. One line on stdout per event acted on and per
// remap; a device whose remaps keep failing backs off (watch_backoff.h) and
// each failure is logged once, with the wait before the next attempt.
// Exits 0 on SIGTERM or SIGINT.
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <ostream>
#include <vector>

#include "commands.h"
#include "device.h"
#include "watch_backoff.h"

namespace qbd::cli {

namespace {

struct RemapEvent {
	int dev_id = -1;
	std::string pool;
	std::string volume;
	uint32_t reason = 0;
};

const char *reason_name(uint32_t r)
{
	switch (r) {
	case QBD_EVENT_REASON_UNREACHABLE:
		return "servers unreachable past conn_timeout";
	case QBD_EVENT_REASON_STALE_LAYOUT:
		return "a server says the layout is stale";
	default:
		return "unknown reason";
	}
}

// libnl callback: collect the event; the remap runs after nl_recvmsgs.
int on_message(nl_msg *msg, void *arg)
{
	auto *events = static_cast<std::vector<RemapEvent> *>(arg);
	nlmsghdr *nlh = nlmsg_hdr(msg);
	auto *gh = static_cast<genlmsghdr *>(nlmsg_data(nlh));
	if (gh->cmd != QBD_GENL_CMD_REMAP_NEEDED)
		return NL_SKIP;
	nlattr *tb[QBD_GENL_A_MAX + 1];
	if (genlmsg_parse(nlh, 0, tb, QBD_GENL_A_MAX, nullptr) < 0 || !tb[QBD_GENL_A_DEV_ID])
		return NL_SKIP;
	RemapEvent e;
	e.dev_id = static_cast<int>(nla_get_u32(tb[QBD_GENL_A_DEV_ID]));
	if (tb[QBD_GENL_A_POOL])
		e.pool = nla_get_string(tb[QBD_GENL_A_POOL]);
	if (tb[QBD_GENL_A_VOLUME])
		e.volume = nla_get_string(tb[QBD_GENL_A_VOLUME]);
	if (tb[QBD_GENL_A_REASON])
		e.reason = nla_get_u32(tb[QBD_GENL_A_REASON]);
	events->push_back(e);
	return NL_OK;
}

using NlSock = std::unique_ptr<nl_sock, void (*)(nl_sock *)>;

Result<NlSock> subscribe(std::vector<RemapEvent> &events)
{
	NlSock sk(nl_socket_alloc(), nl_socket_free);
	if (!sk)
		return make_error(ENOMEM, "cannot allocate a netlink socket");
	nl_socket_disable_seq_check(sk.get());
	nl_socket_modify_cb(sk.get(), NL_CB_VALID, NL_CB_CUSTOM, on_message, &events);
	if (int rc = genl_connect(sk.get()); rc < 0)
		return make_error(EIO, std::string("cannot open a generic netlink socket: ") +
					       nl_geterror(rc));
	int grp = genl_ctrl_resolve_grp(sk.get(), QBD_GENL_NAME, QBD_GENL_MCGRP_EVENTS);
	if (grp < 0)
		return make_error(ENOENT, std::string("generic netlink family '") + QBD_GENL_NAME +
						  "' group '" + QBD_GENL_MCGRP_EVENTS +
						  "' not found (is the qbd module loaded?): " +
						  nl_geterror(grp));
	if (int rc = nl_socket_add_membership(sk.get(), grp); rc < 0)
		return make_error(EIO, std::string("cannot join the events group: ") +
					       nl_geterror(rc));
	nl_socket_set_nonblocking(sk.get());
	return sk;
}

}  // namespace

// One remap attempt for @dev_id; failures go to @backoff.
static void watch_remap(Context &ctx, const MapHooks &hooks, WatchBackoff &backoff, int dev_id)
{
	using namespace std::chrono;
	std::string dev = ctx.device_path(dev_id);
	Result<std::string> r = make_error(EIO, "");
	auto ctl = ctx.control();
	if (!ctl)
		r = ctl.error();
	else
		r = remap_device(ctx, **ctl, hooks, dev_id, std::nullopt);
	if (r) {
		if (backoff.failures(dev_id))
			*ctx.out << "qbd: watch: " << dev << ": remap worked after "
				 << backoff.failures(dev_id) << " failure(s)" << std::endl;
		backoff.forget(dev_id);
		*ctx.out << "qbd: watch: " << *r << std::endl;
		return;
	}
	if (r.error().code == ENODEV || r.error().code == ENOENT) {
		// unmapped meanwhile: nothing to retry
		backoff.forget(dev_id);
		*ctx.out << "qbd: watch: remap of " << dev << " failed: " << r.error().message
			 << std::endl;
		return;
	}
	auto wait = backoff.failed(dev_id, WatchBackoff::Clock::now());
	*ctx.out << "qbd: watch: remap of " << dev << " failed (" << backoff.failures(dev_id)
		 << " in a row): " << r.error().message << "; backing off: the next attempt comes no sooner than "
		 << duration_cast<duration<double>>(wait).count() << " s from now" << std::endl;
}

int run_watch(Context &ctx, const MapHooks &hooks)
{
	auto cfg = ctx.load_config();
	if (!cfg)
		return ctx.fail(cfg.error().message, cfg.error().code);
	// The first wait after a failure is conn_timeout: the pace at which the
	// module repeats its event; it doubles with each failure in a row.
	WatchBackoff backoff(std::chrono::seconds(std::max<uint32_t>(cfg->conn_timeout, 1)));
	if (auto st = hooks.ensure_module(ctx); !st)
		return ctx.fail(st.error().message, st.error().code);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, nullptr) < 0)
		return ctx.fail(std::string("sigprocmask: ") + strerror(errno), errno);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return ctx.fail(std::string("signalfd: ") + strerror(errno), errno);
	std::unique_ptr<int, void (*)(int *)> sfd_guard(&sfd, [](int *fd) { close(*fd); });

	std::vector<RemapEvent> events;
	auto sk = subscribe(events);
	if (!sk)
		return ctx.fail(sk.error().message, sk.error().code);
	*ctx.out << "qbd: watch: waiting for remap events (generic netlink family "
		 << QBD_GENL_NAME << ", group " << QBD_GENL_MCGRP_EVENTS << ")" << std::endl;

	pollfd fds[2] = {{nl_socket_get_fd(sk->get()), POLLIN, 0}, {sfd, POLLIN, 0}};
	for (;;) {
		while (auto dev_id = backoff.due(WatchBackoff::Clock::now())) {
			*ctx.out << "qbd: watch: " << ctx.device_path(*dev_id)
				 << ": backoff over, trying the remap again" << std::endl;
			watch_remap(ctx, hooks, backoff, *dev_id);
		}
		if (poll(fds, 2, backoff.poll_timeout_ms(WatchBackoff::Clock::now())) < 0) {
			if (errno == EINTR)
				continue;
			return ctx.fail(std::string("poll: ") + strerror(errno), errno);
		}
		if (fds[1].revents) {
			signalfd_siginfo si{};
			if (read(sfd, &si, sizeof(si)) < 0)
				si.ssi_signo = SIGTERM;
			*ctx.out << "qbd: watch: " << strsignal(static_cast<int>(si.ssi_signo))
				 << ", exiting" << std::endl;
			return 0;
		}
		if (!fds[0].revents)
			continue;
		int rc = nl_recvmsgs_default(sk->get());
		if (rc < 0 && rc != -NLE_AGAIN)
			ctx.warn(std::string("watch: receiving events: ") + nl_geterror(rc));
		std::vector<RemapEvent> batch;
		batch.swap(events);
		std::vector<int> done;
		for (const RemapEvent &e : batch) {
			if (std::find(done.begin(), done.end(), e.dev_id) != done.end())
				continue;  // one remap per device and batch
			done.push_back(e.dev_id);
			if (!backoff.event(e.dev_id, WatchBackoff::Clock::now()))
				continue;  // backing off: the attempt comes when the wait is over
			*ctx.out << "qbd: watch: event: " << ctx.device_path(e.dev_id) << " ("
				 << e.pool << "/" << e.volume
				 << ") needs a remap: " << reason_name(e.reason) << std::endl;
			watch_remap(ctx, hooks, backoff, e.dev_id);
		}
	}
}

}  // namespace qbd::cli
