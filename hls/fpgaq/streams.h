// Stream plumbing: width conversion, concatenation, reordering, and the AXI-Stream boundary.
#ifndef FPGAQ_STREAMS_H
#define FPGAQ_STREAMS_H

#include "types.h"

namespace fpgaq {

// Width conversion: NUM elements from words of IN_W to words of OUT_W elements, order preserved. STEP =
// gcd(IN_W, OUT_W) elements move per cycle: NUM / STEP cycles (max(NUM / IN_W, NUM / OUT_W) when one width
// divides the other).
// C: num, in_w, out_w, step (their gcd), in_t, out_t.
template <typename C>
void dwc(hls::stream<Vec<typename C::in_t, C::in_w> >& in, hls::stream<Vec<typename C::out_t, C::out_w> >& out) {
    typedef typename C::in_t TI;
    typedef typename C::out_t TO;
    const int NUM = C::num, IN_W = C::in_w, OUT_W = C::out_w;
    const int STEP = C::step;
#ifdef FPGAQ_SIM_FAST_H
    if (fast::dwc<C>(in, out)) return;  // an untimed C-simulation: the same words, sooner
#endif
    Vec<TI, IN_W> word;
    Vec<TO, OUT_W> result;
    int taken = IN_W, filled = 0;
    for (int i = 0; i < NUM / STEP; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
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
// C: outer, n0, n1, a_t, b_t, out_t.
template <typename C>
void concat2(hls::stream<Vec<typename C::a_t, 1> >& in0, hls::stream<Vec<typename C::b_t, 1> >& in1,
             hls::stream<Vec<typename C::out_t, 1> >& out) {
    typedef typename C::out_t TO;
    const int OUTER = C::outer, N0 = C::n0, N1 = C::n1;
    for (int o = 0; o < OUTER; o++) {
        for (int i = 0; i < N0 + N1; i++) {
#pragma HLS PIPELINE II = 1
            FPGAQ_CYCLE();
            Vec<TO, 1> word;
            word.v[0] = i < N0 ? TO(in0.read().v[0]) : TO(in1.read().v[0]);
            out.write(word);
        }
    }
}

// Layout change that cannot be folded into weights: out[p] = in[perm[p]] over a buffered frame.
// C: num, elem_t.
template <typename C>
void reorder(hls::stream<Vec<typename C::elem_t, 1> >& in, hls::stream<Vec<typename C::elem_t, 1> >& out,
             const int perm[C::num]) {
    typedef typename C::elem_t T;
    const int NUM = C::num;
    T buf[NUM];
    for (int i = 0; i < NUM; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        buf[i] = in.read().v[0];
    }
    for (int i = 0; i < NUM; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        Vec<T, 1> word;
        word.v[0] = buf[perm[i]];
        out.write(word);
    }
}

// AXI-Stream words of PACK elements of BITS = T::width bits each (element 0 in the low bits) <-> code streams of
// PACK elements per word: one AXI-Stream word per cycle, NUM / PACK cycles per frame.
// C: num, pack, bits, word, elem_t.
template <typename C>
void unpack_axis(hls::stream<ap_uint<C::word> >& in, hls::stream<Vec<typename C::elem_t, C::pack> >& out) {
    typedef typename C::elem_t T;
    const int NUM = C::num, PACK = C::pack, BITS = C::bits, WORD = C::word;
#ifdef FPGAQ_SIM_FAST_H
    if (fast::unpack_axis<C>(in, out)) return;  // an untimed C-simulation: the same words, sooner
#endif
    for (int i = 0; i < NUM / PACK; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
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

template <typename C>
void pack_axis(hls::stream<Vec<typename C::elem_t, C::pack> >& in, hls::stream<ap_uint<C::word> >& out) {
    typedef typename C::elem_t T;
    const int NUM = C::num, PACK = C::pack, BITS = C::bits, WORD = C::word;
    for (int i = 0; i < NUM / PACK; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
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
