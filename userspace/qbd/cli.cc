#include "cli.h"

#include <algorithm>

#include "version.h"

namespace qbd::cli {

const char *command_name(Command c)
{
	switch (c) {
	case Command::map:
		return "map";
	case Command::unmap:
		return "unmap";
	case Command::list:
		return "list";
	case Command::info:
		return "info";
	case Command::version:
		return "version";
	case Command::none:
		break;
	}
	return "qbd";
}

static const char *flag_of(Command c)
{
	switch (c) {
	case Command::map:
		return "-m";
	case Command::unmap:
		return "-u";
	case Command::info:
		return "-i";
	default:
		return "?";
	}
}

void setup_cli(CLI::App &app, Options &opts)
{
	app.name("qbd");
	app.description(
		"qbd maps volumes of qbd-server storage servers as local block devices "
		"(/dev/qbdN) through the qbd kernel module.");
	app.footer(
		"Exactly one of -m, -u, -l, -i, -v is required.\n"
		"Map options (-o, comma-separated KEY=VALUE; override the [client] section of the config):\n"
		"  io_depth=N            requests in flight per hardware queue, 1..1024\n"
		"  nr_queues=N           hardware queues, 0 (= online CPUs) .. 64\n"
		"  io_timeout=S          seconds an IO may wait for a server before it fails\n"
		"  conn_timeout=S        seconds to establish a connection\n"
		"  heartbeat_interval=S  seconds between heartbeats on an idle connection\n"
		"  heartbeat_timeout=S   seconds without an answer before a connection is dead\n"
		"  read_bps=B write_bps=B read_iops=N write_iops=N   throttle limits, 0 = unlimited;\n"
		"                        B takes K/M/G/T suffixes (powers of 1024)\n"
		"Environment: QBD_CTL overrides the control device (default /dev/qbdctl).\n"
		"See qbd(8) and qbd.conf(5).\n");
	app.get_formatter()->column_width(34);

	auto *cmds = app.add_option_group("Commands", "exactly one of these is required");
	cmds->add_option_function<std::string>(
		    "-m,--map",
		    [&opts](const std::string &v) {
			    opts.command = Command::map;
			    opts.commands_given.push_back(flag_of(opts.command));
			    opts.target = v;
		    },
		    "map a volume and print its device, e.g. /dev/qbd0")
		->type_name("[tcp://|rdma://]POOL/VOL");
	cmds->add_option_function<std::string>(
		    "-u,--unmap",
		    [&opts](const std::string &v) {
			    opts.command = Command::unmap;
			    opts.commands_given.push_back(flag_of(opts.command));
			    opts.target = v;
		    },
		    "unmap a volume")
		->type_name("POOL/VOL|/dev/qbdN");
	cmds->add_flag_callback("-l,--list", [&opts] {
				opts.command = Command::list;
				opts.commands_given.push_back("-l");
			},
				"list the mapped volumes");
	cmds->add_option_function<std::string>(
		    "-i,--info",
		    [&opts](const std::string &v) {
			    opts.command = Command::info;
			    opts.commands_given.push_back(flag_of(opts.command));
			    opts.target = v;
		    },
		    "show everything the module reports about a mapped volume")
		->type_name("POOL/VOL|/dev/qbdN");
	cmds->add_flag_callback("-v,--version", [&opts] {
				opts.command = Command::version;
				opts.commands_given.push_back("-v");
			},
				"print the version of qbd and of the loaded module");

	app.add_option("-c,--config", opts.config_path,
		       "config file, read by every command but -v (default /etc/qbd/qbd.conf; a missing default means built-in defaults)")
		->type_name("FILE")
		->each([&opts](const std::string &) { opts.config_given = true; });
	app.add_flag("--ro", opts.readonly, "with -m: map read-only");
	app.add_option("-o,--options", opts.map_options, "with -m: map options, see below")
		->type_name("KEY=VALUE,...");
	app.add_flag("--force", opts.force,
		     "with -u: fail the outstanding IO and unmap even if the device is open");
	app.add_flag("--json", opts.json, "with -l or -i: print JSON");
	app.add_flag("-V,--verbose", opts.verbose, "say what qbd does, on stderr");
}

Status check_options(const Options &opts)
{
	if (opts.commands_given.empty())
		return make_error(EINVAL, "no command; exactly one of -m, -u, -l, -i, -v is required");
	if (opts.commands_given.size() > 1) {
		std::string given;
		for (const auto &f : opts.commands_given)
			given += (given.empty() ? "" : " and ") + f;
		return make_error(EINVAL, given + " cannot be combined; exactly one of -m, -u, -l, "
					  "-i, -v is required");
	}
	auto only_with = [&](bool given, const char *flag, std::initializer_list<Command> cmds,
			     const char *which) -> Status {
		if (!given)
			return ok_status();
		if (std::find(cmds.begin(), cmds.end(), opts.command) != cmds.end())
			return ok_status();
		return make_error(EINVAL, std::string(flag) + " is only valid with " + which);
	};
	if (auto st = only_with(opts.readonly, "--ro", {Command::map}, "-m/--map"); !st)
		return st;
	if (auto st = only_with(!opts.map_options.empty(), "-o/--options", {Command::map},
				"-m/--map");
	    !st)
		return st;
	if (auto st = only_with(opts.force, "--force", {Command::unmap}, "-u/--unmap"); !st)
		return st;
	if (auto st = only_with(opts.json, "--json", {Command::list, Command::info},
				"-l/--list or -i/--info");
	    !st)
		return st;
	return ok_status();
}

static std::string one_line(std::string s)
{
	while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
		s.pop_back();
	std::replace(s.begin(), s.end(), '\n', ' ');
	return s;
}

Result<Options> parse_args(const std::vector<std::string> &args)
{
	Options opts;
	CLI::App app;
	setup_cli(app, opts);
	std::vector<std::string> rev(args.rbegin(), args.rend());
	try {
		app.parse(rev);
	} catch (const CLI::CallForHelp &) {
		return make_error(0, app.help());
	} catch (const CLI::CallForAllHelp &) {
		return make_error(0, app.help("", CLI::AppFormatMode::All));
	} catch (const CLI::ParseError &e) {
		return make_error(EINVAL, one_line(e.what()) + "; see qbd --help");
	}
	if (auto st = check_options(opts); !st)
		return make_error(st.error().code, st.error().message + "; see qbd --help");
	return opts;
}

}  // namespace qbd::cli
