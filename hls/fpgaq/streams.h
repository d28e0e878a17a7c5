// Stream plumbing: width conversion, concatenation, reordering, and the AXI-Stream boundary.
#ifndef FPGAQ_STREAMS_H
#define FPGAQ_STREAMS_H

#include "types.h"

namespace fpgaq {

// Width conversion: NUM elements from words of IN_W to words of OUT_W elements, order preserved. STEP =
// gcd(IN_W, OUT_W) elements move per cycle: NUM / STEP cycles (max(NUM / IN_W, NUM / OUT_W) when one width
// divides the other).
template <int NUM, int IN_W, int OUT_W, typename TI, typename TO>
void dwc(hls::stream<Vec<TI, IN_W> >& in, hls::stream<Vec<TO, OUT_W> >& out) {
    const int STEP = gcd(IN_W, OUT_W);
    Vec<TI, IN_W> word;
    Vec<TO, OUT_W> result;
    int taken = IN_W, filled = 0;
    for (int i = 0; i < NUM / STEP; i++) {
#pragma HLS PIPELINE II = 1
        if (taken == IN_W) {
            word = in.read();
            taken = 0;
        }
        for (int e = 0; e < STEP; e++) {
#pragma HLS UNROLL
            result.v[filled + e] = TO(word.v[taken + e]);
        }
        taken += STEP;
        filled += STEP;
        if (filled == OUT_W) {
            out.write(result);
            filled = 0;
        }
    }
}

// Concatenation: OUTER times, N0 elements of in0 then N1 elements of in1 (channel concat of channels-last
// streams has OUTER = pixels; concat of flat vectors has OUTER = 1).
template <int OUTER, int N0, int N1, typename T0, typename T1, typename TO>
void concat2(hls::stream<Vec<T0, 1> >& in0, hls::stream<Vec<T1, 1> >& in1, hls::stream<Vec<TO, 1> >& out) {
    for (int o = 0; o < OUTER; o++) {
        for (int i = 0; i < N0 + N1; i++) {
#pragma HLS PIPELINE II = 1
            Vec<TO, 1> word;
            word.v[0] = i < N0 ? TO(in0.read().v[0]) : TO(in1.read().v[0]);
            out.write(word);
        }
    }
}

// Layout change that cannot be folded into weights: out[p] = in[perm[p]] over a buffered frame.
template <int NUM, typename T>
void reorder(hls::stream<Vec<T, 1> >& in, hls::stream<Vec<T, 1> >& out, const int perm[NUM]) {
    T buf[NUM];
    for (int i = 0; i < NUM; i++) {
#pragma HLS PIPELINE II = 1
        buf[i] = in.read().v[0];
    }
    for (int i = 0; i < NUM; i++) {
#pragma HLS PIPELINE II = 1
        Vec<T, 1> word;
        word.v[0] = buf[perm[i]];
        out.write(word);
    }
}

// AXI-Stream words of PACK elements of BITS = T::width bits each (element 0 in the low bits) <-> code streams of
// PACK elements per word: one AXI-Stream word per cycle, NUM / PACK cycles per frame.
template <int NUM, int PACK, int BITS, int WORD, typename T>
void unpack_axis(hls::stream<ap_uint<WORD> >& in, hls::stream<Vec<T, PACK> >& out) {
    for (int i = 0; i < NUM / PACK; i++) {
#pragma HLS PIPELINE II = 1
        ap_uint<WORD> word = in.read();
        Vec<T, PACK> elements;
        for (int e = 0; e < PACK; e++) {
#pragma HLS UNROLL
            ap_uint<BITS> raw = word.range(e * BITS + BITS - 1, e * BITS);
            elements.v[e] = T(raw);  // same width: the bit pattern is kept (two's complement for ap_int)
        }
        out.write(elements);
    }
}

template <int NUM, int PACK, int BITS, int WORD, typename T>
void pack_axis(hls::stream<Vec<T, PACK> >& in, hls::stream<ap_uint<WORD> >& out) {
    for (int i = 0; i < NUM / PACK; i++) {
#pragma HLS PIPELINE II = 1
        Vec<T, PACK> elements = in.read();
        ap_uint<WORD> word = 0;
        for (int e = 0; e < PACK; e++) {
#pragma HLS UNROLL
            word.range(e * BITS + BITS - 1, e * BITS) = ap_uint<BITS>(elements.v[e]);
        }
        out.write(word);
    }
}

}  // namespace fpgaq

#endif
