#include "device.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "volume_url.h"

extern char **environ;

namespace qbd::cli {

Result<int> parse_device_name(const std::string &s)
{
	std::string_view v = s;
	if (v.starts_with("/dev/"))
		v.remove_prefix(5);
	if (!v.starts_with("qbd") || v.size() == 3)
		return make_error(EINVAL, "'" + s + "' is not a qbd device; expected /dev/qbdN");
	v.remove_prefix(3);
	long n = 0;
	for (char c : v) {
		if (c < '0' || c > '9')
			return make_error(EINVAL, "'" + s + "' is not a qbd device; expected "
							    "/dev/qbdN (partitions are not devices "
							    "of their own)");
		n = n * 10 + (c - '0');
		if (n >= QBD_MAX_DEVICES)
			return make_error(EINVAL, "'" + s + "': device number is above the "
							    "module's limit " +
							    std::to_string(QBD_MAX_DEVICES - 1));
	}
	if (v.size() > 1 && v[0] == '0')
		return make_error(EINVAL, "'" + s + "' is not a qbd device; expected /dev/qbdN "
						    "without leading zeros");
	return static_cast<int>(n);
}

Result<std::optional<int>> find_mapped(Control &ctl, const std::string &pool,
				       const std::string &volume)
{
	auto ids = ctl.list();
	if (!ids)
		return ids.error();
	for (int id : *ids) {
		auto info = ctl.info(id);
		if (!info) {
			if (info.error().code == ENOENT)  // unmapped meanwhile
				continue;
			return info.error();
		}
		if (fixed_string(info->pool, sizeof(info->pool)) == pool &&
		    fixed_string(info->volume, sizeof(info->volume)) == volume)
			return std::optional<int>(id);
	}
	return std::optional<int>();
}

Result<Target> resolve_target(Context &ctx, Control &ctl, const std::string &arg)
{
	if (arg.empty())
		return make_error(EINVAL, "empty argument; expected POOL/VOL or /dev/qbdN");
	// A device path starts with '/', a bare device name has no '/' at all
	// ("qbd3"); anything else is a volume, even in a pool named "qbd...".
	if (arg[0] == '/' || (arg.starts_with("qbd") && arg.find('/') == std::string::npos)) {
		auto id = parse_device_name(arg);
		if (!id && arg[0] == '/') {
			// A link such as /dev/qbd/pool/vol: follow it.
			char buf[PATH_MAX];
			if (realpath(arg.c_str(), buf)) {
				auto real = parse_device_name(buf);
				if (real)
					id = real;
				else
					return make_error(EINVAL, "'" + arg + "' resolves to '" +
									  buf + "', not a qbd device "
									  "(expected /dev/qbdN)");
			}
		}
		if (!id)
			return id.error();
		ctx.log("'" + arg + "' is dev_id " + std::to_string(*id));
		return Target{*id, ""};
	}
	auto url = parse_volume_url(arg);
	if (!url)
		return make_error(EINVAL, "invalid volume '" + arg + "': " + url.error().message);
	auto found = find_mapped(ctl, url->pool, url->volume);
	if (!found)
		return make_error(found.error().code, describe_ioctl_error(found.error()));
	if (!*found)
		return make_error(ENOENT, "volume '" + url->name() + "' is not mapped");
	ctx.log(url->name() + " is mapped as dev_id " + std::to_string(**found));
	return Target{**found, url->name()};
}

Status wait_for_block_device(const std::string &path, std::chrono::milliseconds timeout)
{
	auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		struct stat st;
		if (stat(path.c_str(), &st) == 0) {
			if (S_ISBLK(st.st_mode))
				return ok_status();
			return make_error(ENOTBLK, path + " exists but is not a block device");
		}
		if (std::chrono::steady_clock::now() >= deadline)
			return make_error(ETIMEDOUT,
					  path + " did not appear within " +
						  std::to_string(timeout.count() / 1000) +
						  " s (is devtmpfs mounted on /dev?)");
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
}

Status reread_partitions(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return make_error(errno, "cannot open " + path + ": " + std::strerror(errno));
	int rc = ioctl(fd, BLKRRPART, 0);
	int e = errno;
	close(fd);
	if (rc)
		return make_error(e, "BLKRRPART on " + path + ": " + std::strerror(e));
	return ok_status();
}

static Result<int> run_modprobe(Context &ctx)
{
	const char *argv[] = {"modprobe", "qbd", nullptr};
	pid_t pid;
	ctx.log("running 'modprobe qbd'");
	int rc = posix_spawnp(&pid, "modprobe", nullptr, nullptr, const_cast<char **>(argv),
			      environ);
	if (rc)
		return make_error(rc, std::string("cannot run modprobe: ") + std::strerror(rc));
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return make_error(errno, std::string("waitpid(modprobe): ") +
							 std::strerror(errno));
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

Status ensure_module(Context &ctx)
{
	if (access(ctx.ctl_path.c_str(), F_OK) == 0)
		return ok_status();
	if (ctx.ctl_path != kDefaultControlPath)
		return make_error(ENOENT, ctx.ctl_path + " does not exist ($QBD_CTL names it; "
							 "not loading the module for a custom path)");
	auto rc = run_modprobe(ctx);
	if (!rc)
		return make_error(rc.error().code, ctx.ctl_path + " does not exist and " +
							   rc.error().message);
	if (*rc != 0)
		return make_error(ENODEV, ctx.ctl_path + " does not exist and 'modprobe qbd' "
							 "failed with exit status " +
							 std::to_string(*rc) +
							 "; is the qbd module installed for this "
							 "kernel?");
	// udev or devtmpfs creates the node right after misc_register().
	for (int i = 0; i < 250 && access(ctx.ctl_path.c_str(), F_OK) != 0; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	if (access(ctx.ctl_path.c_str(), F_OK) != 0)
		return make_error(ENODEV, "'modprobe qbd' succeeded but " + ctx.ctl_path +
						  " did not appear within 5 s");
	return ok_status();
}

static std::string state_file(const Context &ctx, int dev_id)
{
	return ctx.state_dir + "/qbd" + std::to_string(dev_id);
}

void save_state(const Context &ctx, int dev_id, uint64_t vol_id, const std::string &config)
{
	if (mkdir(ctx.state_dir.c_str(), 0755) && errno != EEXIST) {
		ctx.log("cannot create " + ctx.state_dir + ": " + std::strerror(errno));
		return;
	}
	std::ofstream f(state_file(ctx, dev_id), std::ios::trunc);
	f << vol_id << " " << config << "\n";
	if (!f)
		ctx.log("cannot write " + state_file(ctx, dev_id));
}

std::string load_state_config(const Context &ctx, int dev_id, uint64_t vol_id)
{
	std::ifstream f(state_file(ctx, dev_id));
	uint64_t id = 0;
	std::string path;
	if (!(f >> id) || id != vol_id)
		return "-";
	f.get();
	std::getline(f, path);
	return path.empty() ? "-" : path;
}

void remove_state(const Context &ctx, int dev_id)
{
	unlink(state_file(ctx, dev_id).c_str());
}

}  // namespace qbd::cli

namespace qbd::cli {

Status require_feature(Control &ctl, uint64_t bit, const std::string &what)
{
	auto f = ctl.get_features();
	if (!f)
		return make_error(f.error().code, "cannot query the module's features: " +
							  describe_ioctl_error(f.error()));
	if (!(f->features & bit))
		return make_error(EOPNOTSUPP, "the loaded qbd module does not support " + what +
						      " (module too old?)");
	return ok_status();
}

std::string device_ioctl_error(const Context &ctx, int dev_id, const std::string &action,
			       const Error &e)
{
	if (e.code == ENOENT || e.code == ENODEV)
		return ctx.device_path(dev_id) + " is not mapped";
	return "cannot " + action + " " + ctx.device_path(dev_id) + ": " + describe_ioctl_error(e);
}

}  // namespace qbd::cli
