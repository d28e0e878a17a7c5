// Multi-threshold activation: out = base + #{l : sign * x >= t[row][l]}, thresholds sorted ascending.
// Thresholds absorb every scale, zero point, bias, batch norm and clip of the quantized model exactly.
#ifndef FPGAQ_THRESHOLD_H
#define FPGAQ_THRESHOLD_H

#include "types.h"

namespace fpgaq {

// Number of thresholds crossed. Up to LINEAR_MAX levels compare in parallel (one comparator per level);
// above that a binary search over the sorted thresholds (log2 L comparisons).
static const int LINEAR_MAX = 64;

template <int L, typename TT, typename TX>
unsigned crossed(const TT t[L], bool negate, const TX& x) {
#pragma HLS INLINE
    typename Negatable<TX>::type y = x;
    if (negate) y = -y;
    if (L <= LINEAR_MAX) {
        unsigned count = 0;
        for (int l = 0; l < L; l++) {
#pragma HLS UNROLL
            count += (y >= t[l]) ? 1 : 0;
        }
        return count;
    }
    unsigned lo = 0, hi = L;  // invariant: t[l] <= y for l < lo, t[l] > y for l >= hi
    for (int step = 0; step < 32; step++) {
#pragma HLS UNROLL
        if (lo < hi) {
            unsigned mid = (lo + hi) / 2;
            if (t[mid] <= y) lo = mid + 1;
            else hi = mid;
        }
    }
    return lo;
}

// Activation applied by the matrix-vector unit to each finished accumulator (row = output channel).
struct NoActivation {
    template <typename TO, typename TA>
    TO apply(const TA& acc, unsigned) const {
#pragma HLS INLINE
        return TO(acc);
    }
};

template <int ROWS, int L, typename TT>
struct ThresholdActivation {
    const TT (*t)[L];
    const bool* negate;
    int base;
    template <typename TO, typename TA>
    TO apply(const TA& acc, unsigned row) const {
#pragma HLS INLINE
        return TO(base + (int)crossed<L>(t[row], negate[row], acc));
    }
};

// Standalone thresholding of a stream of NUM elements, WIN per word; element p uses row p % ROWS.
// C: num, win, rows, levels, in_t, thr_t, out_t.
template <typename C>
void threshold(hls::stream<Vec<typename C::in_t, C::win> >& in, hls::stream<Vec<typename C::out_t, C::win> >& out,
               const typename C::thr_t t[C::rows][C::levels], const bool negate[C::rows], int base) {
    typedef typename C::in_t TI;
    typedef typename C::out_t TO;
    const int NUM = C::num, WIN = C::win, ROWS = C::rows, L = C::levels;
    unsigned row = 0;
    for (int i = 0; i < NUM / WIN; i++) {
#pragma HLS PIPELINE II = 1
        Vec<TI, WIN> word = in.read();
        Vec<TO, WIN> result;
        for (int e = 0; e < WIN; e++) {
#pragma HLS UNROLL
            unsigned r = (row + e) % ROWS;
            result.v[e] = TO(base + (int)crossed<L>(t[r], negate[r], word.v[e]));
        }
        row = (row + WIN) % ROWS;
        out.write(result);
    }
}

}  // namespace fpgaq

#endif
