// qbd --watch: per-device bounded exponential backoff of failed remaps.
//
// A remap that fails (the volume's server is gone for good, the resolve
// finds nothing) would otherwise be tried again at every event the module
// sends (one per conn_timeout per device) for ever. After the n-th failure
// in a row the next attempt for that device waits base * 2^(n-1), at most
// kWatchMaxBackoff; events arriving meanwhile are remembered and answered by
// one attempt when the wait is over. A success forgets the device.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

namespace qbd::cli {

inline constexpr std::chrono::seconds kWatchMaxBackoff{300};

class WatchBackoff {
public:
	using Clock = std::chrono::steady_clock;
	using Duration = std::chrono::milliseconds;

	explicit WatchBackoff(Duration base, Duration max = kWatchMaxBackoff)
		: base_(std::max(base, Duration(1))), max_(std::max(max, base_)) {}

	// An event for @dev at @now: true when a remap may run now; else the
	// event is kept for when the wait is over (due()).
	bool event(int dev, Clock::time_point now)
	{
		auto it = devs_.find(dev);
		if (it == devs_.end() || now >= it->second.next)
			return true;
		it->second.pending = true;
		return false;
	}

	// The remap of @dev failed at @now: returns the wait before the next
	// attempt (the step; the caller logs it once).
	Duration failed(int dev, Clock::time_point now)
	{
		State &s = devs_[dev];
		s.failures++;
		Duration d = base_;
		for (unsigned i = 1; i < s.failures && d < max_; i++)
			d *= 2;
		d = std::min(d, max_);
		s.next = now + d;
		s.pending = false;
		return d;
	}

	unsigned failures(int dev) const
	{
		auto it = devs_.find(dev);
		return it == devs_.end() ? 0 : it->second.failures;
	}

	// The remap worked, or the device is gone: start from scratch.
	void forget(int dev) { devs_.erase(dev); }

	// A device whose wait is over and that had an event meanwhile: it is
	// taken (no longer pending) and returned.
	std::optional<int> due(Clock::time_point now)
	{
		for (auto &[dev, s] : devs_)
			if (s.pending && now >= s.next) {
				s.pending = false;
				return dev;
			}
		return std::nullopt;
	}

	// How long poll() may sleep before due() has something: -1 = no limit.
	int poll_timeout_ms(Clock::time_point now) const
	{
		std::optional<Clock::time_point> first;
		for (auto &[dev, s] : devs_)
			if (s.pending && (!first || s.next < *first))
				first = s.next;
		if (!first)
			return -1;
		if (*first <= now)
			return 0;
		auto ms = std::chrono::ceil<Duration>(*first - now).count();
		return static_cast<int>(std::min<long long>(ms, 1000LL * 3600));
	}

private:
	struct State {
		unsigned failures = 0;
		Clock::time_point next{};
		bool pending = false;
	};
	Duration base_, max_;
	std::map<int, State> devs_;
};

}  // namespace qbd::cli
