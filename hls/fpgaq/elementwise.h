// Elementwise kernels: the residual add of two code streams with integer multipliers, and stream forks.
#ifndef FPGAQ_ELEMENTWISE_H
#define FPGAQ_ELEMENTWISE_H

#include "types.h"

namespace fpgaq {

// out = m0 * a + m1 * b; both scales were brought to a common unit at compile time (exact integers).
template <int ID, int NUM, int WIN, typename TA, typename TB, typename TO, typename TM0, typename TM1>
void add(hls::stream<Vec<TA, WIN> >& a, hls::stream<Vec<TB, WIN> >& b, hls::stream<Vec<TO, WIN> >& out,
         const TM0 m0, const TM1 m1) {
    for (int i = 0; i < NUM / WIN; i++) {
#pragma HLS PIPELINE II = 1
        Vec<TA, WIN> x = a.read();
        Vec<TB, WIN> y = b.read();
        Vec<TO, WIN> z;
        for (int e = 0; e < WIN; e++) {
#pragma HLS UNROLL
            z.v[e] = TO(m0 * x.v[e] + m1 * y.v[e]);
            FPGAQ_CHECK(z.v[e], (long long)m0 * (long long)x.v[e] + (long long)m1 * (long long)y.v[e], ID, -1);
        }
        out.write(z);
    }
}

// A tensor read by two kernels: every word goes to both outputs.
template <int WORDS, typename T, int WIN>
void fork2(hls::stream<Vec<T, WIN> >& in, hls::stream<Vec<T, WIN> >& out0, hls::stream<Vec<T, WIN> >& out1) {
    for (int i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
        Vec<T, WIN> word = in.read();
        out0.write(word);
        out1.write(word);
    }
}

}  // namespace fpgaq

#endif
