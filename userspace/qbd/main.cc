// qbd: map volumes of qbd-server storage servers as local block devices.
#include <iostream>

#include "cli.h"
#include "commands.h"

int main(int argc, char **argv)
{
	using namespace qbd::cli;
	std::vector<std::string> args(argv + 1, argv + argc);
	auto opts = parse_args(args);
	if (!opts) {
		if (opts.error().code == 0) {  // --help
			std::cout << opts.error().message;
			return 0;
		}
		std::cerr << "qbd: " << opts.error().message << "\n";
		return 2;
	}
	Context ctx = make_system_context(*opts);
	switch (opts->command) {
	case Command::map:
		return run_map(ctx, system_map_hooks());
	case Command::unmap:
		return run_unmap(ctx);
	case Command::list:
		return run_list(ctx);
	case Command::info:
		return run_info(ctx);
	case Command::version:
		return run_version(ctx);
	case Command::throttle:
		return run_throttle(ctx);
	case Command::suspend:
		return run_suspend(ctx);
	case Command::resume:
		return run_resume(ctx);
	case Command::resize:
		return run_resize(ctx, system_map_hooks());
	case Command::map_all:
		return run_map_all(ctx, system_map_hooks());
	case Command::unmap_all:
		return run_unmap_all(ctx);
	case Command::remap:
		return run_remap(ctx, system_map_hooks());
	case Command::watch:
		return run_watch(ctx, system_map_hooks());
	case Command::none:
		break;
	}
	std::cerr << "qbd: no command; see qbd --help\n";
	return 2;
}
