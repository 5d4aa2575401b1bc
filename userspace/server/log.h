// Server logging: one line per event on stderr, "LEVEL [thread] message".
// Lines about a connection or request carry "vol=POOL/VOL conn=N tag=H".
// LOG_RL_* are rate-limited per call site (IO path, anything a client can
// trigger repeatedly).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace qbd::server {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

void log_set_level(LogLevel l);
bool log_enabled(LogLevel l);
void log_set_thread_name(const char *name);
void log_write(LogLevel l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// A token bucket: at most 10 lines a second per call site, with a count of
// what was suppressed on the next line that gets through.
struct RateLimit {
	std::atomic<int64_t> window{0};
	std::atomic<uint32_t> count{0};
	std::atomic<uint32_t> suppressed{0};
	bool allow(uint32_t *was_suppressed);
};

}  // namespace qbd::server

#define QBD_LOG(lvl, ...)                                                        \
	do {                                                                     \
		if (::qbd::server::log_enabled(lvl))                            \
			::qbd::server::log_write(lvl, __VA_ARGS__);             \
	} while (0)
#define LOG_DEBUG(...) QBD_LOG(::qbd::server::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) QBD_LOG(::qbd::server::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) QBD_LOG(::qbd::server::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERR(...) QBD_LOG(::qbd::server::LogLevel::kError, __VA_ARGS__)

#define QBD_LOG_RL(lvl, fmt, ...)                                                         \
	do {                                                                              \
		static ::qbd::server::RateLimit qbd_rl_;                                  \
		uint32_t qbd_sup_ = 0;                                                    \
		if (::qbd::server::log_enabled(lvl) && qbd_rl_.allow(&qbd_sup_)) {        \
			if (qbd_sup_)                                                     \
				::qbd::server::log_write(lvl, fmt " (%u similar suppressed)", \
							 ##__VA_ARGS__, qbd_sup_);        \
			else                                                              \
				::qbd::server::log_write(lvl, fmt, ##__VA_ARGS__);        \
		}                                                                         \
	} while (0)
#define LOG_RL_WARN(fmt, ...) QBD_LOG_RL(::qbd::server::LogLevel::kWarn, fmt, ##__VA_ARGS__)
#define LOG_RL_INFO(fmt, ...) QBD_LOG_RL(::qbd::server::LogLevel::kInfo, fmt, ##__VA_ARGS__)
