#include "version.h"

namespace qbd {
const char *version() { return QBD_VERSION; }
}  // namespace qbd
