// Shared helpers of the libFuzzer targets (userspace/fuzz/, built with
// -DQBD_FUZZ=ON by `make fuzz`): a private data directory for the server's
// catalog, and a check that nothing was written outside it.
#pragma once

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include "catalog.h"
#include "log.h"

namespace qbd::fuzz {

// Aborts the run (libFuzzer records the input as a crash) with a message.
[[noreturn]] inline void die(const std::string &why)
{
	fprintf(stderr, "fuzz: %s\n", why.c_str());
	abort();
}

// The names directly inside @dir.
inline std::set<std::string> list_dir(const std::string &dir)
{
	std::set<std::string> names;
	DIR *d = opendir(dir.c_str());
	if (!d)
		die("opendir " + dir + ": " + strerror(errno));
	while (struct dirent *e = readdir(d))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names.insert(e->d_name);
	closedir(d);
	return names;
}

// ROOT/data is the catalog's data directory; ROOT itself must never hold
// anything else, and ROOT/data only what the catalog documents (catalog,
// catalog.tmp, volumes/ with NUMBER.vol files). The root lives on /dev/shm
// when it exists (fsync is cheap there), else in TMPDIR.
class ScratchCatalog {
public:
	ScratchCatalog()
	{
		server::log_set_level(server::LogLevel::kError);
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
		std::string tmpl = std::string(base ? base : "/tmp") + "/qbd-fuzz-XXXXXX";
		if (!mkdtemp(tmpl.data()))
			die("mkdtemp: " + std::string(strerror(errno)));
		root_ = tmpl;
		reset();
	}
	~ScratchCatalog()
	{
		cat_.reset();
		wipe();
		rmdir(root_.c_str());
	}

	// A fresh, empty catalog.
	void reset()
	{
		cat_.reset();
		wipe();
		auto c = server::Catalog::open(data(), false);
		if (!c)
			die("catalog: " + c.error().message);
		cat_ = std::move(*c);
	}

	server::Catalog &cat() { return *cat_; }
	std::string data() const { return root_ + "/data"; }

	// Dies when anything appeared outside the documented layout.
	void check_contained() const
	{
		if (list_dir(root_) != std::set<std::string>{"data"})
			die("something was written next to the data directory in " + root_);
		for (auto &n : list_dir(data()))
			if (n != "catalog" && n != "catalog.tmp" && n != "volumes")
				die("unexpected file " + data() + "/" + n);
		for (auto &n : list_dir(data() + "/volumes"))
			if (n.size() < 5 || n.compare(n.size() - 4, 4, ".vol") ||
			    n.find_first_not_of("0123456789") != n.size() - 4)
				die("unexpected volume file " + n);
	}

private:
	void wipe()
	{
		std::string vols = data() + "/volumes";
		if (DIR *d = opendir(vols.c_str())) {
			closedir(d);
			for (auto &n : list_dir(vols))
				unlink((vols + "/" + n).c_str());
			rmdir(vols.c_str());
		}
		if (DIR *d = opendir(data().c_str())) {
			closedir(d);
			for (auto &n : list_dir(data()))
				unlink((data() + "/" + n).c_str());
			rmdir(data().c_str());
		}
	}

	std::string root_;
	std::unique_ptr<server::Catalog> cat_;
};

}  // namespace qbd::fuzz
