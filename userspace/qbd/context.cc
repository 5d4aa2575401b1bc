#include "context.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace qbd::cli {

void Context::log(const std::string &msg) const
{
	if (opts.verbose)
		*err << "qbd: " << cmd() << ": " << msg << "\n";
}

int Context::fail(const std::string &msg, int code) const
{
	if (opts.json)
		*err << "{\"error\":{\"command\":" << json_string(cmd())
		     << ",\"input\":" << json_string(opts.target) << ",\"errno\":" << code
		     << ",\"message\":" << json_string(msg) << "}}\n";
	else if (opts.target.empty() || msg.find(opts.target) != std::string::npos)
		*err << "qbd: " << cmd() << ": " << msg << "\n";
	else  // every message names the input
		*err << "qbd: " << cmd() << ": " << opts.target << ": " << msg << "\n";
	return 1;
}

void Context::warn(const std::string &msg) const
{
	*err << "qbd: " << cmd() << ": warning: " << msg << "\n";
}

std::string Context::device_path(int dev_id) const
{
	return dev_dir + "/qbd" + std::to_string(dev_id);
}

Result<std::unique_ptr<Control>> Context::control() const
{
	return open_control(ctl_path);
}

Result<ClientConfig> Context::load_config() const
{
	return load_client_config(opts.config_path, opts.config_given);
}

Result<std::unique_ptr<Control>> Context::configured_control() const
{
	if (auto cfg = load_config(); !cfg)
		return cfg.error();
	return control();
}

Context make_system_context(const Options &opts)
{
	Context ctx;
	ctx.opts = opts;
	ctx.out = &std::cout;
	ctx.err = &std::cerr;
	if (const char *p = std::getenv("QBD_CTL"); p && *p)
		ctx.ctl_path = p;
	ctx.open_control = [](const std::string &path) -> Result<std::unique_ptr<Control>> {
		auto dev = ControlDevice::open(path);
		if (!dev)
			return dev.error();
		return std::unique_ptr<Control>(std::move(*dev));
	};
	return ctx;
}

std::string json_string(const std::string &s)
{
	std::string o = "\"";
	for (unsigned char c : s) {
		switch (c) {
		case '"':
			o += "\\\"";
			break;
		case '\\':
			o += "\\\\";
			break;
		case '\n':
			o += "\\n";
			break;
		case '\t':
			o += "\\t";
			break;
		case '\r':
			o += "\\r";
			break;
		default:
			if (c < 0x20) {
				char buf[8];
				std::snprintf(buf, sizeof(buf), "\\u%04x", c);
				o += buf;
			} else {
				o += static_cast<char>(c);
			}
		}
	}
	return o + "\"";
}

std::string describe_ioctl_error(const Error &e)
{
	std::string advice = ioctl_advice(e.code);
	if (advice.empty() || e.message.find(advice) != std::string::npos)
		return e.message;
	return e.message + " (" + advice + ")";
}

}  // namespace qbd::cli
