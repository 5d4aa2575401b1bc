#include "ioctl.h"

#include "auth.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace qbd {

static std::string errno_text(int code)
{
	return std::strerror(code);
}

Result<std::unique_ptr<ControlDevice>> ControlDevice::open(const std::string &path)
{
	int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		std::string msg = "cannot open " + path + ": " + errno_text(e);
		if (e == ENOENT)
			msg += " (is the qbd module loaded?)";
		else if (e == EACCES || e == EPERM)
			msg += " (need root)";
		return make_error(e, msg);
	}
	return std::unique_ptr<ControlDevice>(new ControlDevice(fd, path));
}

ControlDevice::~ControlDevice()
{
	::close(fd_);
}

Status ControlDevice::call(unsigned long cmd, const char *name, void *arg)
{
	if (::ioctl(fd_, cmd, arg) == 0)
		return ok_status();
	int e = errno;
	std::string msg = std::string(name) + " on " + path_ + ": " + errno_text(e);
	if (e == ENOTTY)
		msg += " (not a qbd control device, or the module is too old)";
	return make_error(e, msg);
}

// An ioctl struct as the module wants it: all zero (reserved space
// included) with hdr.size set.
namespace {
template <class T>
T zeroed_ioctl_struct()
{
	T t;
	std::memset(&t, 0, sizeof(t));
	t.hdr.size = sizeof(t);
	return t;
}
}  // namespace

qbd_features make_features_struct()
{
	qbd_features f = zeroed_ioctl_struct<qbd_features>();
	return f;
}

qbd_map make_map_struct()
{
	qbd_map m = zeroed_ioctl_struct<qbd_map>();
	m.dev_id = -1;
	return m;
}

qbd_unmap make_unmap_struct(int dev_id, bool force)
{
	qbd_unmap u = zeroed_ioctl_struct<qbd_unmap>();
	u.hdr.flags = force ? QBD_UNMAP_F_FORCE : 0;
	u.dev_id = dev_id;
	return u;
}

qbd_info make_info_struct(int dev_id)
{
	qbd_info i = zeroed_ioctl_struct<qbd_info>();
	i.dev_id = dev_id;
	return i;
}

qbd_throttle make_throttle_struct(int dev_id)
{
	qbd_throttle t = zeroed_ioctl_struct<qbd_throttle>();
	t.dev_id = dev_id;
	return t;
}

qbd_suspend make_suspend_struct(int dev_id, uint32_t mode)
{
	qbd_suspend s = zeroed_ioctl_struct<qbd_suspend>();
	s.dev_id = dev_id;
	s.mode = mode;
	return s;
}

qbd_resize make_resize_struct(int dev_id, uint64_t size)
{
	qbd_resize r = zeroed_ioctl_struct<qbd_resize>();
	r.dev_id = dev_id;
	r.size = size;
	return r;
}

qbd_remap make_remap_struct(int dev_id)
{
	qbd_remap r = zeroed_ioctl_struct<qbd_remap>();
	r.dev_id = dev_id;
	return r;
}

Result<qbd_features> ControlDevice::get_features()
{
	qbd_features f = make_features_struct();
	if (auto st = call(QBD_IOC_GET_FEATURES, "QBD_IOC_GET_FEATURES", &f); !st)
		return st.error();
	return f;
}

Result<int> ControlDevice::map(const qbd_map &req)
{
	qbd_map m = req;
	m.hdr.size = sizeof(m);
	auto st = call(QBD_IOC_MAP, "QBD_IOC_MAP", &m);
	wipe(m.key, sizeof(m.key));
	if (!st)
		return st.error();
	if (m.dev_id < 0)
		return make_error(EPROTO, "QBD_IOC_MAP on " + path_ + " returned dev_id " +
						  std::to_string(m.dev_id) + ", not a device number");
	return static_cast<int>(m.dev_id);
}

Status ControlDevice::unmap(int dev_id, bool force)
{
	qbd_unmap u = make_unmap_struct(dev_id, force);
	return call(QBD_IOC_UNMAP, "QBD_IOC_UNMAP", &u);
}

Result<std::vector<int>> ControlDevice::list()
{
	// Devices may come and go between calls: grow the buffer until the
	// module reports no more than fits.
	std::uint32_t capacity = 64;
	for (int attempt = 0; attempt < 8; attempt++) {
		std::vector<__s32> ids(capacity);
		qbd_list l = zeroed_ioctl_struct<qbd_list>();
		l.capacity = capacity;
		l.ids_ptr = reinterpret_cast<std::uintptr_t>(ids.data());
		if (auto st = call(QBD_IOC_LIST, "QBD_IOC_LIST", &l); !st)
			return st.error();
		if (l.count > capacity)
			return make_error(EPROTO, "QBD_IOC_LIST on " + path_ + " wrote " +
							  std::to_string(l.count) + " ids into " +
							  std::to_string(capacity) + " slots");
		if (l.total <= l.count) {
			std::vector<int> out(ids.begin(), ids.begin() + l.count);
			std::sort(out.begin(), out.end());
			return out;
		}
		capacity = std::max<std::uint32_t>(l.total + 16, capacity * 2);
	}
	return make_error(EAGAIN, "QBD_IOC_LIST on " + path_ +
					  ": the device list kept changing; try again");
}

Result<qbd_info> ControlDevice::info(int dev_id)
{
	qbd_info i = make_info_struct(dev_id);
	if (auto st = call(QBD_IOC_INFO, "QBD_IOC_INFO", &i); !st)
		return st.error();
	return i;
}

Status ControlDevice::set_throttle(const qbd_throttle &req)
{
	qbd_throttle t = req;
	t.hdr.size = sizeof(t);
	return call(QBD_IOC_SET_THROTTLE, "QBD_IOC_SET_THROTTLE", &t);
}

Status ControlDevice::suspend(int dev_id)
{
	qbd_suspend s = make_suspend_struct(dev_id, 0);
	return call(QBD_IOC_SUSPEND, "QBD_IOC_SUSPEND", &s);
}

Status ControlDevice::resume(int dev_id, uint32_t mode)
{
	qbd_suspend s = make_suspend_struct(dev_id, mode);
	return call(QBD_IOC_RESUME, "QBD_IOC_RESUME", &s);
}

Status ControlDevice::resize(int dev_id, uint64_t size)
{
	qbd_resize r = make_resize_struct(dev_id, size);
	return call(QBD_IOC_RESIZE, "QBD_IOC_RESIZE", &r);
}

Status ControlDevice::remap(const qbd_remap &r)
{
	qbd_remap copy = r;
	return call(QBD_IOC_REMAP, "QBD_IOC_REMAP", &copy);
}

std::string ioctl_advice(int code)
{
	switch (code) {
	case EPERM:
	case EACCES:
		return "need root (CAP_SYS_ADMIN)";
	case ENOENT:
	case ENODEV:
		return "no such device";
	case EBUSY:
		return "device is in use";
	case EINVAL:
		return "the module rejected a value (see dmesg for which)";
	case ENOTTY:
		return "not a qbd control device, or the module is too old";
	case ENOSPC:
		return "the module has no free device slot";
	case ENOMEM:
		return "out of memory";
	case EEXIST:
		return "already exists";
	case ETIMEDOUT:
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "the module could not reach the server";
	default:
		return "";
	}
}

std::string state_name(unsigned state)
{
	switch (state) {
	case QBD_STATE_LIVE:
		return "live";
	case QBD_STATE_RECONNECTING:
		return "reconnecting";
	case QBD_STATE_FAILED:
		return "failed";
	case QBD_STATE_DELETING:
		return "deleting";
	case QBD_STATE_SUSPENDED:
		return "suspended";
	default:
		return "unknown(" + std::to_string(state) + ")";
	}
}

std::string resume_mode_name(unsigned mode)
{
	switch (mode) {
	case QBD_RESUME_NORMAL:
		return "normal";
	case QBD_RESUME_ERROR:
		return "error";
	case QBD_RESUME_DISCARD:
		return "discard";
	default:
		return "unknown(" + std::to_string(mode) + ")";
	}
}

Result<uint32_t> parse_resume_mode(const std::string &s)
{
	if (s == "normal")
		return uint32_t{QBD_RESUME_NORMAL};
	if (s == "error")
		return uint32_t{QBD_RESUME_ERROR};
	if (s == "discard")
		return uint32_t{QBD_RESUME_DISCARD};
	return make_error(EINVAL, "resume mode '" + s + "' is not one of normal, error, discard");
}

std::string transport_code_name(unsigned transport)
{
	switch (transport) {
	case QBD_TRANSPORT_TCP:
		return "tcp";
	case QBD_TRANSPORT_RDMA:
		return "rdma";
	default:
		return "unknown(" + std::to_string(transport) + ")";
	}
}

std::string format_server_addr(const qbd_server_addr &a)
{
	char buf[INET6_ADDRSTRLEN];
	if (a.family == AF_INET && inet_ntop(AF_INET, a.addr, buf, sizeof(buf)))
		return std::string(buf) + ":" + std::to_string(a.port);
	if (a.family == AF_INET6 && inet_ntop(AF_INET6, a.addr, buf, sizeof(buf)))
		return "[" + std::string(buf) + "]:" + std::to_string(a.port);
	return "invalid(family " + std::to_string(a.family) + ")";
}

std::string fixed_string(const char *s, std::size_t max)
{
	return std::string(s, strnlen(s, max));
}

}  // namespace qbd
