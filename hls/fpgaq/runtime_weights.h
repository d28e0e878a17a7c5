// Weights the host writes at run time: a table placed in UltraRAM (fpgaq.estimate.placement), which the bitstream
// cannot initialize [UG573], is an argument of the synthesis top on its AXI4-Lite bus. The host sends it as rows
// of LANES fields of BITS bits, field j at bit j * BITS of its row, each row ceil(LANES * BITS / 32) 32-bit words,
// little-endian (fpgaq.host.pack_rows writes them, deploy/weights/*.bin). Not synthesized: the C-simulation, the
// timed simulation and the testbench fill the arrays from the same bytes, so a C-simulation equal to the golden
// model checks this layout too.
#ifndef FPGAQ_RUNTIME_WEIGHTS_H
#define FPGAQ_RUNTIME_WEIGHTS_H

#include <cstdio>
#include <vector>

namespace fpgaq {

// Fills dst from `size` bytes; 1 when the size is not ROWS rows of this layout (nothing is written then).
template <typename T, int ROWS, int LANES>
int unpack_rows(T (&dst)[ROWS][LANES], int bits, bool is_signed, const unsigned char* data, long long size) {
    const long long row_bytes = ((long long)LANES * bits + 31) / 32 * 4;
    if (bits < 1 || bits > 62 || size != row_bytes * ROWS) return 1;
    bool changed = false;
    for (int r = 0; r < ROWS; r++) {
        const unsigned char* row = data + (long long)r * row_bytes;
        for (int j = 0; j < LANES; j++) {
            long long value = 0;
            for (int b = 0; b < bits; b++) {
                const long long at = (long long)j * bits + b;
                value |= (long long)((row[at >> 3] >> (at & 7)) & 1) << b;
            }
            if (is_signed && ((value >> (bits - 1)) & 1)) value -= 1LL << bits;
            const T stored = T(value);
            changed = changed || dst[r][j] != stored;
            dst[r][j] = stored;
        }
    }
#ifdef FPGAQ_SIM_H
    if (changed) fpgaq::sim::weights_generation()++;  // C-simulation: converted copies are stale
#endif
    (void)changed;
    return 0;
}

// Reads one table's bytes from `path` into dst (the testbench); 1 when the file is missing or of the wrong size.
template <typename T, int ROWS, int LANES>
int load_rows(T (&dst)[ROWS][LANES], int bits, bool is_signed, const char* path) {
    std::FILE* f = std::fopen(path, "rb");
    if (!f) return 1;
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    std::vector<unsigned char> data(size > 0 ? (size_t)size : 1);
    const bool read = size > 0 && std::fread(data.data(), 1, (size_t)size, f) == (size_t)size;
    std::fclose(f);
    return read ? unpack_rows(dst, bits, is_signed, data.data(), size) : 1;
}

}  // namespace fpgaq

#endif
