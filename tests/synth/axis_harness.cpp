// Test harness: the synthesis top (top_axi.cpp, compiled with our stand-in ap_axi_sdata.h) as a DMA drives it.
// One call is one DMA transfer each way: the input words of whole frames, TLAST where `last_in` says, go into
// fpgaq_accel, called once per frame as auto-restart starts it; the output words come back with their TLAST.
#include <ap_axi_sdata.h>

#include "top.h"

typedef ap_axiu<FPGAQ_IN_WORD, 0, 0, 0> harness_in;
typedef ap_axiu<FPGAQ_OUT_WORD, 0, 0, 0> harness_out;

void fpgaq_accel(hls::stream<harness_in>& src, hls::stream<harness_out>& dst);

// in: frames * input words of FPGAQ_IN_WORD / 8 little-endian bytes; last_in: one flag per input word.
// out: frames * output words of FPGAQ_OUT_WORD / 8 bytes; last_out: one flag per output word.
// Returns 0, 1 if input was left unread, 2 if too few output words came, 3 if too many.
extern "C" int axis_transfer(const unsigned char* in, const unsigned char* last_in, int frames, unsigned char* out,
                             unsigned char* last_out) {
    const int in_bytes = FPGAQ_IN_WORD / 8, out_bytes = FPGAQ_OUT_WORD / 8;
    const long long in_words = (long long)frames * (FPGAQ_IN_NUM / FPGAQ_IN_PACK);
    const long long out_words = (long long)frames * (FPGAQ_OUT_NUM / FPGAQ_OUT_PACK);
    hls::stream<harness_in> src("src");
    hls::stream<harness_out> dst("dst");
    for (long long w = 0; w < in_words; w++) {
        harness_in word;
        for (int b = 0; b < in_bytes; b++) word.data.range(8 * b + 7, 8 * b) = in[w * in_bytes + b];
        word.keep = -1;
        word.strb = -1;
        word.last = last_in[w] ? 1 : 0;
        src.write(word);
    }
    for (int f = 0; f < frames; f++) fpgaq_accel(src, dst);
    if (!src.empty()) return 1;
    for (long long w = 0; w < out_words; w++) {
        if (dst.empty()) return 2;
        const harness_out word = dst.read();
        for (int b = 0; b < out_bytes; b++) out[w * out_bytes + b] = (unsigned char)word.data.range(8 * b + 7, 8 * b);
        last_out[w] = word.last == 1 ? 1 : 0;
    }
    return dst.empty() ? 0 : 3;
}
