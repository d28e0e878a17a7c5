// fpgaq's native C-simulation only (never synthesized, never in an ap_int or an instrumented build): kernels
// computed without their hardware loop, reading and writing the same words in the same order. types.h includes this
// file; mvu.h and swg.h call it first and run their own loop where it returns false. A matrix-vector unit's path
// also runs in the timed simulation, its clock advanced as the loop advances it; the window's only untimed.
//
// A matrix-vector unit's frame is one dot product per output channel over a copy of the layer's weights converted
// once to 16-bit integers, [G * OCG][KG] in row order (a depthwise unit's [G][KG][PE], a block's PE channels summed
// side by side), instead of the fold-by-fold loop of mvu_body, which the compiler cannot vectorize; a dot product
// of 16-bit integers it can (pmaddwd, or with AVX-512 one instruction per 32 multiply-accumulates). Its output
// codes equal mvu_body's for every input its type can hold, by construction, not by trusting the bounds that sized
// the accumulators:
// - mvu_body stores each tile of SIMD products in TS and adds it to the running sum in TA. Storing into TA wraps
//   modulo 2^W(TA), which commutes with addition: the stored sum is the exact sum wrapped once, whatever the order
//   (this path stores bias + exact dot product into TA once).
// - Storing a tile into TS is the one step that could differ (a narrower wrap, then widened). The copy is used only
//   when no tile can wrap: every tile's least and greatest sum over all inputs in_t can hold (not just the proven
//   range of the layer's input) is checked within TS when the copy is made; otherwise, as for operands wider than
//   15 bits, mvu_body runs its own loop.
// - The dot product is summed in 32 bits where KG * max|w| * max|x| < 2^31, else in 64: it never overflows.
// The copy is rebuilt when the host writes a run-time table (sim::weights_generation). The ap_int build and the
// timed simulation run the hardware loops; tests compare them with these paths bit for bit.
#ifndef FPGAQ_SIM_FAST_H
#define FPGAQ_SIM_FAST_H

#include <algorithm>
#include <mutex>
#include <vector>

namespace fpgaq {
template <typename C>
struct Thresholds;  // mvu.h

namespace fast {

// The least and greatest value of a native integer type.
template <typename T>
struct Range;
template <int W, bool S>
struct Range<Native<W, S> > {
    static long long lo() { return S ? -(1LL << (W - 1)) : 0; }
    static long long hi() { return S ? (1LL << (W - 1)) - 1 : (1LL << W) - 1; }
};

// One layer's converted weights, tied to the table they were read from and its generation.
struct Weights {
    long long generation = -1;
    const void* source = nullptr;
    bool usable = false;  // no tile can wrap in TS and every operand fits 16 bits
    bool wide = false;    // the dot product needs 64-bit sums
    // [G * OCG][KG]: output channel o = g * OCG + nf * PE + p, input k = sf * SIMD + s; depthwise [G][KG][PE]
    std::vector<short> w;
};

template <typename C>
const Weights& weights(const typename C::weight_t w[][C::pe * C::simd]) {
    static Weights cache;
    static std::mutex lock;
    std::lock_guard<std::mutex> hold(lock);
    const long long generation = sim::weights_generation().load();
    if (cache.generation == generation && cache.source == (const void*)w) return cache;
    const int G = C::g, SIMD = C::simd, PE = C::pe, KG = C::kg, OCG = C::ocg;
    const int SF = KG / SIMD, NF = OCG / PE;
    typedef Range<typename C::in_t> X;
    typedef Range<typename C::inner_t> TS;
    const long long x_lo = X::lo(), x_hi = X::hi(), x_max = std::max(-x_lo, x_hi);
    bool usable = x_lo >= -32767 && x_hi <= 32767;
    long long w_max = 0;
    cache.w.assign(usable ? (size_t)G * OCG * KG : 0, 0);
    for (int g = 0; g < G && usable; g++) {
        for (int nf = 0; nf < NF; nf++) {
            for (int sf = 0; sf < SF; sf++) {
                const int fold = (g * NF + nf) * SF + sf;
                for (int p = 0; p < PE; p++) {
                    long long tile_lo = 0, tile_hi = 0;
                    for (int s = 0; s < SIMD; s++) {
                        const long long v = C::bipolar ? (w[fold][p * SIMD + s] ? 1 : -1) : (long long)w[fold][p * SIMD + s];
                        w_max = std::max(w_max, v < 0 ? -v : v);
                        tile_lo += std::min(v * x_lo, v * x_hi);
                        tile_hi += std::max(v * x_lo, v * x_hi);
                        const int k = sf * SIMD + s;
                        cache.w[C::dw ? ((size_t)g * KG + k) * PE + p : ((size_t)g * OCG + nf * PE + p) * KG + k] = (short)v;
                    }
                    if (tile_lo < TS::lo() || tile_hi > TS::hi()) usable = false;
                }
            }
        }
    }
    usable = usable && w_max <= 32767;
    cache.usable = usable;
    cache.wide = (double)KG * (double)w_max * (double)x_max >= 2147483648.0;
    if (!usable) cache.w.clear();
    cache.generation = generation;
    cache.source = (const void*)w;
    return cache;
}

template <typename A>
inline A dot(const short* __restrict a, const short* __restrict b, int n) {
    A sum = 0;
    for (int k = 0; k < n; k++) sum += (A)a[k] * (A)b[k];
    return sum;
}

// sum[p] = sum over k of w[k * PE + p] * x[k * PE + p]: PE dot products at once (a depthwise block's lanes).
template <typename A>
inline void lanes(const short* __restrict w, const short* __restrict x, int n, int pe, long long* sum) {
    A acc[256];
    for (int base = 0; base < pe; base += 256) {
        const int m = pe - base < 256 ? pe - base : 256;
        for (int p = 0; p < m; p++) acc[p] = 0;
        for (int k = 0; k < n; k++) {
            const short* wk = w + (size_t)k * pe + base;
            const short* xk = x + (size_t)k * pe + base;
            for (int p = 0; p < m; p++) acc[p] += (A)wk[p] * (A)xk[p];
        }
        for (int p = 0; p < m; p++) sum[base + p] = acc[p];
    }
}

// Whether every row of a threshold table is sorted ascending (as fpgaq generates them; the kernel counts crossed
// levels whatever their order), once per table.
template <typename C>
bool sorted_rows(const typename C::thr_t (*t)[C::g * (C::ocg / C::pe)][C::levels]) {
    static const void* checked = nullptr;
    static bool sorted = false;
    static std::mutex lock;
    std::lock_guard<std::mutex> hold(lock);
    if (checked != (const void*)t) {
        sorted = true;
        for (int p = 0; p < C::pe; p++) {
            for (int f = 0; f < C::g * (C::ocg / C::pe); f++) {
                for (int l = 1; l < C::levels; l++) sorted = sorted && (long long)t[p][f][l - 1] <= (long long)t[p][f][l];
            }
        }
        checked = (const void*)t;
    }
    return sorted;
}

// The unit's activation of lane p's sum at neuron fold f: act's own, or for fused thresholds in sorted rows the same
// count by a branchless binary search (y = -sum where negated, exact as Negatable's one extra bit keeps it; the
// count of levels whose threshold is at most y), four comparisons for a 4-bit activation's fifteen.
template <typename Act, typename TA>
inline auto activate(const Act& act, const TA& sum, int p, int f, bool) -> decltype(act(sum, p, f)) {
    return act(sum, p, f);
}
template <typename C, typename TA>
inline typename C::out_t activate(const Thresholds<C>& act, const TA& sum, int p, int f, bool sorted) {
    if (!sorted) return act(sum, p, f);
    const long long y = act.negate[p][f] ? -sum.to_int64() : sum.to_int64();
    const typename C::thr_t* row = act.t[p][f];
    const typename C::thr_t* b = row;
    int n = C::levels;
    while (n > 1) {  // the answer is in [b - row, b - row + n]
        const int half = n / 2;
        b = (long long)b[half - 1] <= y ? b + half : b;
        n -= half;
    }
    const int count = (int)(b - row) + ((long long)b[0] <= y ? 1 : 0);
    return typename C::out_t(C::base + count);
}
template <typename Act>
inline bool sorted_table(const Act&) {
    return false;
}
template <typename C>
inline bool sorted_table(const Thresholds<C>& act) {
    return sorted_rows<C>(act.t);
}

// One frame of mvu_body's unit; false (nothing read) where the loop of mvu_body must run.
template <typename C, typename Act>
bool mvu(hls::stream<Vec<typename C::in_t, C::in_w> >& in, hls::stream<Vec<typename C::out_t, C::pe> >& out,
         const typename C::weight_t w[][C::pe * C::simd], const typename C::bias_t bias[C::pe][C::g * (C::ocg / C::pe)],
         const Act& act) {
    const Weights& layer = weights<C>(w);
    if (!layer.usable) return false;
    const bool sorted = sorted_table(act);
    typedef typename C::outer_t TA;
    const int NV = C::nv, G = C::g, SIMD = C::simd, PE = C::pe, KG = C::kg, OCG = C::ocg;
    const int SF = KG / SIMD, NF = OCG / PE;
    // In a timed run the clock advances as in mvu_body, one cycle per fold: each word is read in its own cycle
    // (the first neuron fold's), and the other neuron folds' SF cycles pass at once before their output is
    // written (no stream access among them, so nothing else can happen in them).
    if (C::dw) {  // G blocks of PE channels, NF = 1: word sf's element s * PE + p is position sf * SIMD + s of lane p
        std::vector<short> x(KG * PE);
        std::vector<long long> sum(PE);
        for (int v = 0; v < NV; v++) {
            for (int g = 0; g < G; g++) {
                for (int sf = 0; sf < SF; sf++) {
                    FPGAQ_CYCLE();
                    const Vec<typename C::in_t, C::in_w> word = in.read();
                    for (int e = 0; e < SIMD * PE; e++) x[sf * SIMD * PE + e] = (short)word.v[e].to_int64();
                }
                const short* wg = &layer.w[(size_t)g * KG * PE];
                if (layer.wide) {
                    lanes<long long>(wg, x.data(), KG, PE, sum.data());
                } else {
                    lanes<int>(wg, x.data(), KG, PE, sum.data());
                }
                Vec<typename C::out_t, C::pe> result;
                for (int p = 0; p < PE; p++) result.v[p] = activate(act, TA((long long)bias[p][g] + sum[p]), p, g, sorted);
                out.write(result);
            }
        }
        return true;
    }
    std::vector<short> x(KG);
    for (int v = 0; v < NV; v++) {
        for (int g = 0; g < G; g++) {
            for (int sf = 0; sf < SF; sf++) {
                FPGAQ_CYCLE();
                const Vec<typename C::in_t, C::in_w> word = in.read();
                for (int s = 0; s < SIMD; s++) x[sf * SIMD + s] = (short)word.v[s].to_int64();
            }
            for (int nf = 0; nf < NF; nf++) {
                if (nf > 0) FPGAQ_CYCLES(SF);
                const int f = g * NF + nf;
                Vec<typename C::out_t, C::pe> result;
                for (int p = 0; p < PE; p++) {
                    const short* row = &layer.w[((size_t)g * OCG + nf * PE + p) * KG];
                    const long long sum = layer.wide ? dot<long long>(row, x.data(), KG) : dot<int>(row, x.data(), KG);
                    result.v[p] = activate(act, TA((long long)bias[p][f] + sum), p, f, sorted);
                }
                out.write(result);
            }
        }
    }
    return true;
}

// One frame of swg's window words: the frame kept whole (a plain C-simulation's stream holds it whole anyway), each
// window word read at its pixel; false where swg's loop must run (a timed run).
template <typename P>
bool swg(hls::stream<Vec<typename P::elem_t, P::simd> >& in, hls::stream<Vec<typename P::elem_t, P::simd> >& out,
         const typename P::elem_t pad) {
    if (sim::timed()) return false;
    typedef Vec<typename P::elem_t, P::simd> Word;
    const int H = P::h, W = P::w, KH = P::kh, KW = P::kw, SH = P::sh, SW = P::sw, DH = P::dh, DW = P::dw;
    const int PT = P::pt, PL = P::pl, OH = P::oh, OW = P::ow, G = P::groups, CW = P::c / P::simd;
    const int CGW = CW / G;
    static thread_local std::vector<Word> kept;  // capacity kept from frame to frame
    kept.resize((size_t)H * W * CW);
    Word* const frame = kept.data();  // one thread-local lookup, not one per word
    for (size_t i = 0; i < (size_t)H * W * CW; i++) frame[i] = in.read();
    Word padding;
    for (int s = 0; s < P::simd; s++) padding.v[s] = pad;
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            for (int g = 0; g < G; g++) {
                for (int kh = 0; kh < KH; kh++) {
                    const int ih = oh * SH - PT + kh * DH;
                    for (int kw = 0; kw < KW; kw++) {
                        const int iw = ow * SW - PL + kw * DW;
                        const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                        const Word* pixel = inside ? &frame[((size_t)ih * W + iw) * CW + g * CGW] : nullptr;
                        for (int cb = 0; cb < CGW; cb++) out.write(inside ? pixel[cb] : padding);
                    }
                }
            }
        }
    }
    return true;
}

}  // namespace fast
}  // namespace fpgaq

#endif
