#include "log.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace qbd::server {

static std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
static thread_local char t_name[16] = "main";

void log_set_level(LogLevel l) { g_level = static_cast<int>(l); }
bool log_enabled(LogLevel l) { return static_cast<int>(l) >= g_level.load(std::memory_order_relaxed); }
void log_set_thread_name(const char *name) { snprintf(t_name, sizeof(t_name), "%s", name); }

void log_write(LogLevel l, const char *fmt, ...)
{
	static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
	char line[1024];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 ts.tv_nsec / 1000000, names[static_cast<int>(l)], t_name);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	size_t len = n + (m < 0 ? 0 : std::min<size_t>(m, sizeof(line) - n - 2));
	line[len++] = '\n';
	// One write(2) per line: lines from reactors never interleave.
	ssize_t r = ::write(STDERR_FILENO, line, len);
	(void)r;
}

bool RateLimit::allow(uint32_t *was_suppressed)
{
	int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
			      std::chrono::steady_clock::now().time_since_epoch())
			      .count();
	int64_t w = window.load(std::memory_order_relaxed);
	if (w != now && window.compare_exchange_strong(w, now)) {
		count = 0;
		*was_suppressed = suppressed.exchange(0);
	}
	if (count.fetch_add(1) < 10)
		return true;
	suppressed.fetch_add(1);
	return false;
}

}  // namespace qbd::server
