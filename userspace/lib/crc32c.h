// CRC32C (Castagnoli), as the data digest uses it (docs/protocol.md): initial
// value ~0, final xor ~0, so crc32c("123456789") == 0xE3069283 (iSCSI,
// NVMe/TCP). The SSE4.2 crc32 instruction when the CPU has it, else a table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qbd {

// The digest of @len bytes at @data.
uint32_t crc32c(const void *data, size_t len);

// Continues a running CRC (raw state: start with ~0u, finish with ~state).
uint32_t crc32c_update(uint32_t state, const void *data, size_t len);

// The portable table version (tests compare the two).
uint32_t crc32c_update_table(uint32_t state, const void *data, size_t len);

// True when crc32c() uses the CPU instruction.
bool crc32c_hw();

}  // namespace qbd
