// qbd -l [--json]
#include <algorithm>
#include <ostream>
#include <vector>

#include "commands.h"
#include "device.h"

namespace qbd::cli {

static const char *const kColumns[] = {"dev_id",   "vol_id",    "device",    "volume",
				       "config",   "read_bps",  "write_bps", "read_iops",
				       "write_iops", "state",   "resume_mode", "burst_ms"};
static constexpr size_t kNumColumns = sizeof(kColumns) / sizeof(kColumns[0]);

int run_list(Context &ctx)
{
	auto ctl = ctx.configured_control();
	if (!ctl)
		return ctx.fail(ctl.error().message, ctl.error().code);
	Control &c = **ctl;
	auto ids = c.list();
	if (!ids)
		return ctx.fail("cannot list devices: " + describe_ioctl_error(ids.error()),
				ids.error().code);

	std::vector<std::vector<std::string>> rows;
	for (int id : *ids) {
		auto info = c.info(id);
		if (!info) {
			if (info.error().code == ENOENT)  // unmapped meanwhile
				continue;
			return ctx.fail("cannot read " + ctx.device_path(id) + ": " +
						describe_ioctl_error(info.error()),
					info.error().code);
		}
		rows.push_back({std::to_string(id), std::to_string(info->vol_id),
				ctx.device_path(id),
				fixed_string(info->pool, sizeof(info->pool)) + "/" +
					fixed_string(info->volume, sizeof(info->volume)),
				load_state_config(ctx, id, info->vol_id),
				std::to_string(info->read_bps), std::to_string(info->write_bps),
				std::to_string(info->read_iops), std::to_string(info->write_iops),
				state_name(info->state), resume_mode_name(info->resume_mode),
				std::to_string(info->burst_ms)});
	}

	std::ostream &out = *ctx.out;
	if (ctx.opts.json) {
		// Numbers stay numbers; strings are quoted.
		static const bool numeric[kNumColumns] = {true, true,  false, false,
							  false, true, true,  true,
							  true, false, false, true};
		out << "[";
		for (size_t r = 0; r < rows.size(); r++) {
			out << (r ? "," : "") << "\n  {";
			for (size_t i = 0; i < kNumColumns; i++)
				out << (i ? ", " : "") << json_string(kColumns[i]) << ": "
				    << (numeric[i] ? rows[r][i] : json_string(rows[r][i]));
			out << "}";
		}
		out << (rows.empty() ? "]\n" : "\n]\n");
		return 0;
	}

	size_t width[kNumColumns];
	for (size_t i = 0; i < kNumColumns; i++) {
		width[i] = std::char_traits<char>::length(kColumns[i]);
		for (const auto &row : rows)
			width[i] = std::max(width[i], row[i].size());
	}
	auto print_row = [&](auto get) {
		std::string line;
		for (size_t i = 0; i < kNumColumns; i++) {
			std::string cell = get(i);
			line += cell;
			if (i + 1 < kNumColumns)
				line += std::string(width[i] - cell.size() + 2, ' ');
		}
		out << line << "\n";
	};
	print_row([&](size_t i) { return std::string(kColumns[i]); });
	for (const auto &row : rows)
		print_row([&](size_t i) { return row[i]; });
	return 0;
}

}  // namespace qbd::cli
