// qbd -v: the tool's version and the loaded module's.
#include <fstream>
#include <ostream>
#include <sys/stat.h>

#include "commands.h"
#include "version.h"

namespace qbd::cli {

int run_version(Context &ctx)
{
	std::ostream &out = *ctx.out;
	out << "qbd " << qbd::version() << " (abi " << QBD_ABI_VERSION << ")\n";

	struct stat st;
	if (stat(ctx.sys_module_dir.c_str(), &st) != 0) {
		out << "module: not loaded\n";
		return 0;
	}
	std::string mod_version = "unknown";
	if (std::ifstream f(ctx.sys_module_dir + "/version"); f)
		std::getline(f, mod_version);
	std::string abi;
	auto ctl = ctx.control();
	if (!ctl) {
		abi = "abi unknown: " + ctl.error().message;
	} else if (auto feat = (*ctl)->get_features(); !feat) {
		abi = "abi unknown: " + describe_ioctl_error(feat.error());
	} else {
		abi = "abi " + std::to_string(feat->abi_version);
		if (feat->abi_version != QBD_ABI_VERSION)
			abi += ", differs from this tool's " + std::to_string(QBD_ABI_VERSION);
	}
	out << "module: qbd " << mod_version << " (" << abi << ")\n";
	return 0;
}

}  // namespace qbd::cli
