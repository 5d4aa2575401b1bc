#include "crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace qbd {

namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // Castagnoli, reflected

// 8 tables of 256 entries: slicing-by-8.
struct Tables {
	uint32_t t[8][256];
	constexpr Tables() : t{}
	{
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
			t[0][i] = c;
		}
		for (uint32_t i = 0; i < 256; i++)
			for (int s = 1; s < 8; s++)
				t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
	}
};

constexpr Tables kTables;

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t update_hw(uint32_t crc, const unsigned char *p,
							size_t len)
{
	uint64_t c = crc;
	while (len && (reinterpret_cast<uintptr_t>(p) & 7)) {
		c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
	return static_cast<uint32_t>(c);
}

const bool kHaveHw = __builtin_cpu_supports("sse4.2");
#else
const bool kHaveHw = false;
#endif

}  // namespace

uint32_t crc32c_update_table(uint32_t crc, const void *data, size_t len)
{
	auto *p = static_cast<const unsigned char *>(data);
	const auto &t = kTables.t;
	while (len >= 8) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= crc;
		crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^
		      t[4][lo >> 24] ^ t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
		      t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
	return crc;
}

uint32_t crc32c_update(uint32_t state, const void *data, size_t len)
{
#if defined(__x86_64__)
	if (kHaveHw)
		return update_hw(state, static_cast<const unsigned char *>(data), len);
#endif
	return crc32c_update_table(state, data, len);
}

uint32_t crc32c(const void *data, size_t len) { return ~crc32c_update(~0u, data, len); }

bool crc32c_hw() { return kHaveHw; }

}  // namespace qbd
