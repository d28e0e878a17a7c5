// Elementwise kernels: the residual add of two code streams with integer multipliers, and stream forks.
#ifndef FPGAQ_ELEMENTWISE_H
#define FPGAQ_ELEMENTWISE_H

#include "types.h"

namespace fpgaq {

// out = m0 * a + m1 * b; both scales were brought to a common unit at compile time (exact integers).
// C: id, num, win, a_t, b_t, out_t, and the multipliers m0, m1 of types m0_t, m1_t.
template <typename C>
void add(hls::stream<Vec<typename C::a_t, C::win> >& a, hls::stream<Vec<typename C::b_t, C::win> >& b,
         hls::stream<Vec<typename C::out_t, C::win> >& out) {
    typedef typename C::a_t TA;
    typedef typename C::b_t TB;
    typedef typename C::out_t TO;
    const int NUM = C::num, WIN = C::win;
    const typename C::m0_t m0 = C::m0;
    const typename C::m1_t m1 = C::m1;
#ifdef FPGAQ_SIM_FAST_H
    if (fast::add<C>(a, b, out)) return;  // an untimed C-simulation: the same words, sooner
#endif
    for (int i = 0; i < NUM / WIN; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        Vec<TA, WIN> x = a.read();
        Vec<TB, WIN> y = b.read();
        Vec<TO, WIN> z;
        for (int e = 0; e < WIN; e++) {
#pragma HLS UNROLL
            z.v[e] = TO(m0 * x.v[e] + m1 * y.v[e]);
            FPGAQ_CHECK(z.v[e], (long long)m0 * (long long)x.v[e] + (long long)m1 * (long long)y.v[e], C::id, -1);
        }
        out.write(z);
    }
}

// A tensor read by two kernels: every word goes to both outputs.
// C: words, win, elem_t.
template <typename C>
void fork2(hls::stream<Vec<typename C::elem_t, C::win> >& in, hls::stream<Vec<typename C::elem_t, C::win> >& out0,
           hls::stream<Vec<typename C::elem_t, C::win> >& out1) {
    typedef typename C::elem_t T;
    const int WIN = C::win;
#ifdef FPGAQ_SIM_FAST_H
    if (fast::fork2<C>(in, out0, out1)) return;  // an untimed C-simulation: the same words, sooner
#endif
    for (int i = 0; i < C::words; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        Vec<T, WIN> word = in.read();
        out0.write(word);
        out1.write(word);
    }
}

}  // namespace fpgaq

#endif
