#pragma once

namespace qbd {
// The version of the userspace tools (the project version in CMake).
const char *version();
}  // namespace qbd
