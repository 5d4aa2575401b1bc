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
	case Command::throttle:
		return "throttle";
	case Command::suspend:
		return "suspend";
	case Command::resume:
		return "resume";
	case Command::resize:
		return "resize";
	case Command::map_all:
		return "map-all";
	case Command::unmap_all:
		return "unmap-all";
	case Command::remap:
		return "remap";
	case Command::watch:
		return "watch";
	case Command::none:
		break;
	}
	return "qbd";
}

static constexpr const char *kOneOf = "exactly one of -m, -u, -l, -i, -s, -S, -R, -z, -r, -M, -U, --watch, -v "
				      "is required";

static const char *flag_of(Command c)
{
	switch (c) {
	case Command::map:
		return "-m";
	case Command::unmap:
		return "-u";
	case Command::info:
		return "-i";
	case Command::throttle:
		return "-s";
	case Command::suspend:
		return "-S";
	case Command::resume:
		return "-R";
	case Command::resize:
		return "-z";
	case Command::map_all:
		return "-M";
	case Command::unmap_all:
		return "-U";
	case Command::remap:
		return "-r";
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
		"Exactly one of -m, -u, -l, -i, -s, -S, -R, -z, -r, -M, -U, --watch, -v is required.\n"
		"Map options (-o, comma-separated KEY=VALUE; override the [client] section of the config):\n"
		"  io_depth=N            requests in flight per hardware queue, 1..1024\n"
		"  nr_queues=N           hardware queues, 0 (= online CPUs) .. 64\n"
		"  io_timeout=S          seconds an IO may wait for a server before it fails\n"
		"  conn_timeout=S        seconds to establish a connection\n"
		"  heartbeat_interval=S  seconds between heartbeats on an idle connection\n"
		"  heartbeat_timeout=S   seconds without an answer before a connection is dead\n"
		"  read_bps=B write_bps=B read_iops=N write_iops=N   throttle limits, 0 = unlimited;\n"
		"                        B takes K/M/G/T suffixes (powers of 1024)\n"
		"  digest[=on|off]       CRC32C of every READ/WRITE's data, checked on both\n"
		"                        sides (TCP only)\n"
		"Throttle (-t with -s or -m; keys left out keep their values with -s):\n"
		"  read_bps=B,write_bps=B,read_iops=N,write_iops=N   0 = unlimited\n"
		"  burst_ms=MS           unused allowance a limit may save up, 0 = module default\n"
		"                        (-s only), at most 60000\n"
		"Resume modes (-t with -R, default normal):\n"
		"  normal                held and new IO proceeds\n"
		"  error                 held and new IO fails with EIO\n"
		"  discard               held and new IO succeeds without reaching the server;\n"
		"                        reads return zeros\n"
		"Map file (-M/-U, default /etc/qbd/map.conf), one volume a line, # comments:\n"
		"  [tcp://|rdma://]POOL/VOL [CONFIG|-] [READ_BPS WRITE_BPS READ_IOPS WRITE_IOPS]\n"
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
	auto target_cmd = [&](const char *names, Command c, const char *what,
			      const char *type) {
		cmds->add_option_function<std::string>(
			    names,
			    [&opts, c](const std::string &v) {
				    opts.command = c;
				    opts.commands_given.push_back(flag_of(c));
				    opts.target = v;
			    },
			    what)
			->type_name(type);
	};
	target_cmd("-s,--set-throttle", Command::throttle,
		   "set the throttle limits of a mapped volume (with -t)",
		   "[tcp://]POOL/VOL|/dev/qbdN");
	target_cmd("-S,--suspend", Command::suspend,
		   "suspend a mapped volume: new IO is held until -R", "POOL/VOL|/dev/qbdN");
	target_cmd("-R,--resume", Command::resume,
		   "resume a suspended volume (-t normal|error|discard)", "POOL/VOL|/dev/qbdN");
	target_cmd("-z,--resize", Command::resize,
		   "grow a volume on its server, then its device (with -k)",
		   "[tcp://]POOL/VOL|/dev/qbdN");
	target_cmd("-r,--remap", Command::remap,
		   "re-resolve a mapped volume's servers and layout and switch the device to "
		   "them without failing IO",
		   "[tcp://]POOL/VOL|/dev/qbdN");
	cmds->add_flag_callback("--watch", [&opts] {
				opts.command = Command::watch;
				opts.commands_given.push_back("--watch");
			},
				"stay running: remap every device the module asks a remap for, "
				"backing off per device while remaps fail (until SIGTERM)");
	cmds->add_flag_callback("-M,--map-all", [&opts] {
				opts.command = Command::map_all;
				opts.commands_given.push_back("-M");
			},
				"map every volume of the map file (-f) not mapped yet");
	cmds->add_flag_callback("-U,--unmap-all", [&opts] {
				opts.command = Command::unmap_all;
				opts.commands_given.push_back("-U");
			},
				"unmap every volume of the map file (-f)");
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
	app.add_option("-t,--throttle", opts.throttle,
		       "with -s or -m: throttle limits; with -R: resume mode (see below)")
		->type_name("KEY=VALUE,...|MODE")
		->each([&opts](const std::string &) { opts.throttle_given = true; });
	app.add_option("-k,--size", opts.size, "with -z: the new size (K/M/G/T suffixes)")
		->type_name("SIZE");
	app.add_option("-f,--file", opts.map_file,
		       "with -M or -U: the map file (default /etc/qbd/map.conf)")
		->type_name("FILE")
		->each([&opts](const std::string &) { opts.map_file_given = true; });
	app.add_option("--retry-timeout", opts.retry_timeout,
		       "with -M: seconds to keep retrying volumes whose servers do not answer "
		       "yet (default 60, 0 = one attempt)")
		->type_name("SECONDS")
		->check(CLI::Range(0u, kMaxRetryTimeout))
		->each([&opts](const std::string &) { opts.retry_timeout_given = true; });
	app.add_flag("--force", opts.force,
		     "with -u or -U: fail the outstanding IO and unmap even if the device is open");
	app.add_flag("--json", opts.json, "with -l or -i: print JSON");
	app.add_flag("-V,--verbose", opts.verbose, "say what qbd does, on stderr");
}

Status check_options(const Options &opts)
{
	if (opts.commands_given.empty())
		return make_error(EINVAL, std::string("no command; ") + kOneOf);
	if (opts.commands_given.size() > 1) {
		std::string given;
		for (const auto &f : opts.commands_given)
			given += (given.empty() ? "" : " and ") + f;
		return make_error(EINVAL, given + " cannot be combined; " + kOneOf);
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
	if (auto st = only_with(opts.force, "--force", {Command::unmap, Command::unmap_all},
				"-u/--unmap or -U/--unmap-all");
	    !st)
		return st;
	if (auto st = only_with(opts.throttle_given, "-t/--throttle",
				{Command::throttle, Command::map, Command::resume},
				"-s/--set-throttle, -m/--map or -R/--resume");
	    !st)
		return st;
	if (auto st = only_with(!opts.size.empty(), "-k/--size", {Command::resize},
				"-z/--resize");
	    !st)
		return st;
	if (auto st = only_with(opts.map_file_given, "-f/--file",
				{Command::map_all, Command::unmap_all},
				"-M/--map-all or -U/--unmap-all");
	    !st)
		return st;
	if (auto st = only_with(opts.retry_timeout_given, "--retry-timeout", {Command::map_all},
				"-M/--map-all");
	    !st)
		return st;
	if (opts.command == Command::throttle && !opts.throttle_given)
		return make_error(EINVAL, "-s/--set-throttle needs -t KEY=VALUE,... (read_bps, "
					  "write_bps, read_iops, write_iops, burst_ms)");
	if (opts.command == Command::resize && opts.size.empty())
		return make_error(EINVAL, "-z/--resize needs -k SIZE");
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
