// Multi-threshold activation: out = base + #{l : sign * x >= t[l]}, thresholds sorted ascending.
// Thresholds absorb every scale, zero point, bias, batch norm and clip of the quantized model exactly.
//
// Tables are laid out [lane][row][level] (finn-hlslib's [PE][NF][levels]): lane p only ever reads its own
// memory, indexed by a row counter, so any number of lanes (3, 5, 6, ...) runs at one word per cycle.
#ifndef FPGAQ_THRESHOLD_H
#define FPGAQ_THRESHOLD_H

#include "types.h"

namespace fpgaq {

// Number of thresholds crossed: one comparator per level, every level of a row in one memory word (finn-hlslib's
// Thresholding), so a lane counts an element per cycle at any number of levels. Above 64 levels the planner
// uses the exact requantizer where one is proven (plan/requant.py); the comparators stay where none is (e.g.
// half-to-even ties), and the estimate costs every one of them.
template <int L, typename TT, typename TX>
unsigned crossed(const TT t[L], bool negate, const TX& x) {
#pragma HLS INLINE
    typename Negatable<TX>::type y = x;
    if (negate) y = -y;
    unsigned count = 0;
    for (int l = 0; l < L; l++) {
#pragma HLS UNROLL
        count += (y >= t[l]) ? 1 : 0;
    }
    return count;
}

// The exact integer requantizer that replaces a wide threshold (fpgaq.plan.requant proves it equal on every
// input): count = clip((m * y + b) >> S, 0, L), y = -x where negate; TP holds m * y + b. One multiplier, one
// adder and a constant shift per element instead of L comparators or a search.
template <int S, int L, typename TP, typename TM, typename TB, typename TX>
unsigned requantized(const TM& m, const TB& b, bool negate, const TX& x) {
#pragma HLS INLINE
    typename Negatable<TX>::type y = x;
    if (negate) y = -y;
    const TP q = TP(TP(TP(m) * y) + TP(b)) >> S;
    return q < 0 ? 0u : (q > L ? (unsigned)L : (unsigned)q);
}

// The loop of the standalone threshold and requantizer kernels: a stream of NUM elements, WIN per word;
// element p uses row p mod ROWS (ROWS a multiple of WIN), so lane e of word i uses row (i mod RPL) * WIN + e,
// stored at [e][i mod RPL] of every table. count(e, r, x) is the level count of lane e at row r.
template <typename C, typename Count>
void lanes_body(hls::stream<Vec<typename C::in_t, C::win> >& in, hls::stream<Vec<typename C::out_t, C::win> >& out,
                const Count& count) {
#pragma HLS INLINE
    typedef typename C::in_t TI;
    typedef typename C::out_t TO;
    const int WIN = C::win, RPL = C::rpl;
#ifdef FPGAQ_SIM_FAST_H
    if (fast::lanes_body<C>(in, out, count)) return;  // an untimed C-simulation: the same words, sooner
#endif
    int r = 0;
    for (int i = 0; i < C::num / WIN; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        const Vec<TI, WIN> word = in.read();
        Vec<TO, WIN> result;
        for (int e = 0; e < WIN; e++) {
#pragma HLS UNROLL
            result.v[e] = TO(C::base + (int)count(e, r, word.v[e]));
        }
        r = r + 1 == RPL ? 0 : r + 1;
        out.write(result);
    }
}

// Built inside the process from its table arguments (never passed into a dataflow process) and inlined.
template <typename C>
struct LaneThresholds {
    const typename C::thr_t (*t)[C::rpl][C::levels];
    const bool (*negate)[C::rpl];
    template <typename TX>
    unsigned operator()(int e, int r, const TX& x) const {
#pragma HLS INLINE
        return crossed<C::levels>(t[e][r], negate[e][r], x);
    }
};

template <typename C>
struct LaneRequantizer {
    const typename C::mult_t (*m)[C::rpl];
    const typename C::offset_t (*b)[C::rpl];
    const bool (*negate)[C::rpl];
    template <typename TX>
    unsigned operator()(int e, int r, const TX& x) const {
#pragma HLS INLINE
        return requantized<C::shift, C::levels, typename C::prod_t>(m[e][r], b[e][r], negate[e][r], x);
    }
};

// Standalone thresholding. C: num, win, rpl (rows per lane), levels, base, in_t, thr_t, out_t.
template <typename C>
void threshold(hls::stream<Vec<typename C::in_t, C::win> >& in, hls::stream<Vec<typename C::out_t, C::win> >& out,
               const typename C::thr_t t[C::win][C::rpl][C::levels], const bool negate[C::win][C::rpl]) {
    const LaneThresholds<C> count = {t, negate};
    lanes_body<C>(in, out, count);
}

// Standalone requantizer: the threshold kernel's stream and table layout, a multiplier per lane.
// C: num, win, rpl, levels, shift, base, in_t, mult_t, offset_t, prod_t, out_t.
template <typename C>
void requantize(hls::stream<Vec<typename C::in_t, C::win> >& in, hls::stream<Vec<typename C::out_t, C::win> >& out,
                const typename C::mult_t m[C::win][C::rpl], const typename C::offset_t b[C::win][C::rpl],
                const bool negate[C::win][C::rpl]) {
    const LaneRequantizer<C> count = {m, b, negate};
    lanes_body<C>(in, out, count);
}

}  // namespace fpgaq

#endif
