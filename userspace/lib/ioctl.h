// A thin wrapper over the ioctls of /dev/qbdctl (include/uapi/linux/qbd.h).
//
// Control is an interface so the commands of `qbd` can be tested against a
// fake; ControlDevice is the real thing. Every call fills the size header,
// and errors carry the positive errno (Error::code) and a message naming the
// ioctl ("QBD_IOC_MAP: Device or resource busy"). Callers that know the
// context turn the errno into advice with ioctl_advice().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <linux/qbd.h>

#include "result.h"

namespace qbd {

inline constexpr const char *kDefaultControlPath = "/dev/" QBD_CTL_NAME;

class Control {
public:
	virtual ~Control() = default;
	virtual Result<qbd_features> get_features() = 0;
	// Returns the dev_id the module assigned.
	virtual Result<int> map(const qbd_map &req) = 0;
	virtual Status unmap(int dev_id, bool force) = 0;
	// Every mapped dev_id, ascending.
	virtual Result<std::vector<int>> list() = 0;
	virtual Result<qbd_info> info(int dev_id) = 0;
	virtual Status set_throttle(const qbd_throttle &t) = 0;
	virtual Status suspend(int dev_id) = 0;
	// @mode: QBD_RESUME_*.
	virtual Status resume(int dev_id, uint32_t mode) = 0;
	// Grows the device to @size bytes (the volume already grew on the server).
	virtual Status resize(int dev_id, uint64_t size) = 0;
	// Hands a new layout (servers, layout version, size) to a mapped device.
	virtual Status remap(const qbd_remap &r) = 0;
};

class ControlDevice final : public Control {
public:
	// Opens @path read-write with O_CLOEXEC.
	static Result<std::unique_ptr<ControlDevice>> open(const std::string &path);
	~ControlDevice() override;
	ControlDevice(const ControlDevice &) = delete;
	ControlDevice &operator=(const ControlDevice &) = delete;

	Result<qbd_features> get_features() override;
	Result<int> map(const qbd_map &req) override;
	Status unmap(int dev_id, bool force) override;
	Result<std::vector<int>> list() override;
	Result<qbd_info> info(int dev_id) override;
	Status set_throttle(const qbd_throttle &t) override;
	Status suspend(int dev_id) override;
	Status resume(int dev_id, uint32_t mode) override;
	Status resize(int dev_id, uint64_t size) override;
	Status remap(const qbd_remap &r) override;

private:
	ControlDevice(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
	Status call(unsigned long cmd, const char *name, void *arg);
	int fd_;
	std::string path_;
};

// Zeroed structs with the size header filled, ready for an ioctl.
qbd_map make_map_struct();
qbd_unmap make_unmap_struct(int dev_id, bool force);
qbd_info make_info_struct(int dev_id);
qbd_features make_features_struct();
qbd_throttle make_throttle_struct(int dev_id);
qbd_suspend make_suspend_struct(int dev_id, uint32_t mode);
qbd_resize make_resize_struct(int dev_id, uint64_t size);
qbd_remap make_remap_struct(int dev_id);

// What an errno from the module means to a user, e.g. EPERM -> "need root
// (CAP_SYS_ADMIN)". Empty when there is nothing to add to strerror().
std::string ioctl_advice(int code);

// "QBD_STATE_LIVE" -> "live", "reconnecting", ...; "unknown(N)" otherwise.
std::string state_name(unsigned state);
// QBD_RESUME_* -> "normal" / "error" / "discard" / "unknown(N)".
std::string resume_mode_name(unsigned mode);
// "normal" / "error" / "discard" -> QBD_RESUME_*; an error naming the choices.
Result<uint32_t> parse_resume_mode(const std::string &s);
// QBD_TRANSPORT_* -> "tcp" / "rdma" / "unknown(N)".
std::string transport_code_name(unsigned transport);
// "10.0.0.1:7000", "[::1]:7000"; "invalid(family N)" for anything else.
std::string format_server_addr(const qbd_server_addr &a);
// Copies a fixed-size char field up to its first NUL (or its whole length).
std::string fixed_string(const char *s, std::size_t max);

}  // namespace qbd
