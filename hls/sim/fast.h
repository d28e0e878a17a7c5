// fpgaq's native C-simulation only (never synthesized, never in an ap_int or an instrumented build): kernels
// computed without their hardware loop, reading and writing the same words in the same order. types.h includes this
// file; each kernel with a path here calls it first and runs its own loop where it returns false. In an untimed run
// the kernels run one after another, so a kernel's whole input frame is in its stream when it starts: these paths
// read it in place (stream::peek) and append their output in place (stream::append). A matrix-vector unit's path
// also runs in the timed simulation (word by word, its clock advanced as the loop advances it); the others are
// untimed only.
//
// A matrix-vector unit's frame is a matrix product over a copy of the layer's weights converted once to 16-bit
// integers (pairs of inputs in 32-bit lanes; a depthwise unit's channels side by side), instead of the fold-by-fold
// loop of mvu_body, which the compiler cannot vectorize. Its output codes equal mvu_body's for every input its type
// can hold, by construction, not by trusting the bounds that sized the accumulators:
// - mvu_body stores each tile of SIMD products in TS and adds it to the running sum in TA. Storing into TA wraps
//   modulo 2^W(TA), which commutes with addition: the stored sum is the exact sum wrapped once, whatever the order
//   (this path stores bias + exact dot product into TA once).
// - Storing a tile into TS is the one step that could differ (a narrower wrap, then widened). The copy is used only
//   when no tile can wrap: every tile's least and greatest sum over all inputs in_t can hold (not just the proven
//   range of the layer's input) is checked within TS when the copy is made; otherwise, as for operands wider than
//   15 bits, mvu_body runs its own loop.
// - The products are summed in 32 bits where KG * max|w| * max|x| < 2^31, else in 64: no sum overflows.
// Thresholds are counted for many values at once over a table converted to 32 bits (LevelTable), where every value
// involved fits. The copies are rebuilt when the host writes a run-time table (sim::weights_generation). The ap_int
// build runs the hardware loops; tests compare them with these paths bit for bit.
#ifndef FPGAQ_SIM_FAST_H
#define FPGAQ_SIM_FAST_H

#include <algorithm>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <vector>
#if (defined(__AVX512VNNI__) && defined(__AVX512BW__) || defined(__AVX2__)) && !defined(FPGAQ_FAST_PORTABLE)
#include <immintrin.h>
#endif

namespace fpgaq {
template <typename C>
struct Thresholds;  // mvu.h
template <typename C>
struct LaneThresholds;  // threshold.h

namespace fast {

// The least and greatest value of a native integer type.
template <typename T>
struct Range;
template <int W, bool S>
struct Range<Native<W, S> > {
    static long long lo() { return S ? -(1LL << (W - 1)) : 0; }
    static long long hi() { return S ? (1LL << (W - 1)) - 1 : (1LL << W) - 1; }
};

// Sums of products of 16-bit pairs in 32-bit lanes: lane l of madd(acc, w, x) is acc[l] + w[l].lo * x[l].lo +
// w[l].hi * x[l].hi, where a 32-bit lane holds the pair (lo, hi) of signed 16-bit integers (pair()). With AVX-512
// VNNI one instruction (vpdpwssd) per 32 products, with AVX2 pmaddwd and an add per 16; portable C++ otherwise
// (-DFPGAQ_FAST_PORTABLE selects it anywhere: tests compare it with the vector instructions). Neither saturates:
// a pair's two products are at most 2 * 32767^2 < 2^31, and a sum reaches 2^31 only where the layer is `wide`,
// which never comes here.
inline int pair(int lo, int hi) { return (int)((unsigned)(unsigned short)lo | ((unsigned)(unsigned short)hi << 16)); }
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && !defined(FPGAQ_FAST_PORTABLE)
struct Pairs {
    static const int lanes = 16, registers = 16;  // accumulators a block keeps in registers
    typedef __m512i V;
    static V zero() { return _mm512_setzero_si512(); }
    static V load(const int* p) { return _mm512_loadu_si512(p); }
    static V broadcast(int x) { return _mm512_set1_epi32(x); }
    static V madd(V acc, V w, V x) { return _mm512_dpwssd_epi32(acc, w, x); }
    static void store(int* p, V v) { _mm512_storeu_si512(p, v); }
};
#elif defined(__AVX2__) && !defined(FPGAQ_FAST_PORTABLE)
struct Pairs {
    static const int lanes = 8, registers = 8;
    typedef __m256i V;
    static V zero() { return _mm256_setzero_si256(); }
    static V load(const int* p) { return _mm256_loadu_si256((const __m256i*)p); }
    static V broadcast(int x) { return _mm256_set1_epi32(x); }
    static V madd(V acc, V w, V x) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w, x)); }
    static void store(int* p, V v) { _mm256_storeu_si256((__m256i*)p, v); }
};
#else
struct Pairs {
    static const int lanes = 8, registers = 8;
    struct V {
        int v[8];
    };
    static V zero() { return V(); }
    static V load(const int* p) {
        V r;
        for (int l = 0; l < 8; l++) r.v[l] = p[l];
        return r;
    }
    static V broadcast(int x) {
        V r;
        for (int l = 0; l < 8; l++) r.v[l] = x;
        return r;
    }
    static V madd(V acc, const V& w, const V& x) {
        for (int l = 0; l < 8; l++) {
            acc.v[l] += (int)(short)(w.v[l] & 0xffff) * (int)(short)(x.v[l] & 0xffff) +
                        (int)(short)(w.v[l] >> 16) * (int)(short)(x.v[l] >> 16);
        }
        return acc;
    }
    static void store(int* p, const V& v) {
        for (int l = 0; l < 8; l++) p[l] = v.v[l];
    }
};
#endif
static const int PAIR_COLUMNS = 16;  // a pair table's rows are padded to a multiple of this (of any Pairs::lanes)

// PB pixels times OB vectors of output channels from column ob on: y[p * ys + o] = sum over kp of the pairs
// w[kp * OCP + o] . x[p * xs + kp], for o < OC (the padding columns' sums are dropped).
template <int PB, int OB>
inline void gemm_block(const int* w, int KP, int OCP, int OC, int ob, const int* x, int xs, int* y, int ys) {
    typedef typename Pairs::V V;
    const int L = Pairs::lanes;
    V acc[PB][OB];
    for (int p = 0; p < PB; p++) {
        for (int j = 0; j < OB; j++) acc[p][j] = Pairs::zero();
    }
    for (int kp = 0; kp < KP; kp++) {
        V wv[OB];
        for (int j = 0; j < OB; j++) wv[j] = Pairs::load(w + (size_t)kp * OCP + ob + j * L);
        for (int p = 0; p < PB; p++) {
            const V xv = Pairs::broadcast(x[(size_t)p * xs + kp]);
            for (int j = 0; j < OB; j++) acc[p][j] = Pairs::madd(acc[p][j], wv[j], xv);
        }
    }
    for (int p = 0; p < PB; p++) {
        for (int j = 0; j < OB; j++) {
            int lane[Pairs::lanes];
            Pairs::store(lane, acc[p][j]);
            const int o0 = ob + j * L, n = std::min(L, OC - o0);
            for (int l = 0; l < n; l++) y[(size_t)p * ys + o0 + l] = lane[l];
        }
    }
}

template <int PB>
inline void gemm_row(const int* w, int KP, int OCP, int OC, const int* x, int xs, int* y, int ys) {
    const int L = Pairs::lanes, R = Pairs::registers;
    int ob = 0;
    for (; ob + 4 * L <= OCP && PB * 4 <= R; ob += 4 * L) gemm_block<PB, (PB * 4 <= R ? 4 : 1)>(w, KP, OCP, OC, ob, x, xs, y, ys);
    for (; ob + 2 * L <= OCP && PB * 2 <= R; ob += 2 * L) gemm_block<PB, (PB * 2 <= R ? 2 : 1)>(w, KP, OCP, OC, ob, x, xs, y, ys);
    for (; ob < OCP; ob += L) gemm_block<PB, 1>(w, KP, OCP, OC, ob, x, xs, y, ys);
}

// y[v * ys + o] = the dot product of pixel v's inputs (KP pairs at x + v * xs) with output channel o's weights (a
// pair table [KP][OCP], OCP a multiple of PAIR_COLUMNS), o < OC, for n pixels: blocks of pixels and channels
// whose sums stay in registers while the weights are read once per block.
inline void gemm(const int* w, int KP, int OCP, int OC, const int* x, int xs, int n, int* y, int ys) {
    const int L = Pairs::lanes, R = Pairs::registers, vectors = OCP / L;
    int v = 0;
    if (vectors >= 4) {
        for (; v + R / 4 <= n; v += R / 4) gemm_row<R / 4>(w, KP, OCP, OC, x + (size_t)v * xs, xs, y + (size_t)v * ys, ys);
    } else if (vectors >= 2) {
        for (; v + R / 2 <= n; v += R / 2) gemm_row<R / 2>(w, KP, OCP, OC, x + (size_t)v * xs, xs, y + (size_t)v * ys, ys);
    } else {
        for (; v + R <= n; v += R) gemm_row<R>(w, KP, OCP, OC, x + (size_t)v * xs, xs, y + (size_t)v * ys, ys);
    }
    for (; v < n; v++) gemm_row<1>(w, KP, OCP, OC, x + (size_t)v * xs, xs, y + (size_t)v * ys, ys);
}

// Thresholds converted to 32 bits for counting many values at once: column j counts #{l : s_j * x_j >= t[l][j]}
// (s_j = -1 where negated), every level compared, in any order of the row (as crossed() counts them). Usable
// where every threshold, and every value and its negation, fits 32 bits.
struct LevelTable {
    long long generation = -1;
    const void* source = nullptr;
    bool usable = false;
    int levels = 0, n = 0, stride = 0;  // stride: n rounded up to 16
    int period = 0;                     // a standalone unit's: the words of its n columns
    std::vector<int> t;     // [levels][stride]
    std::vector<int> flip;  // 0, or -1 where negated: (x ^ flip) - flip is x or -x
    std::vector<int> bias;  // a matrix-vector unit's bias per column (0 for standalone thresholds)

    // Whether the table holds `source` at the current generation; else it is emptied for n columns of L levels (the
    // caller fills every column with set() and says whether it is usable).
    bool current(const void* key, int L, int columns) {
        const long long now = sim::weights_generation().load();
        if (generation == now && source == key) return true;
        generation = now;
        source = key;
        levels = L;
        n = columns;
        stride = (columns + 15) / 16 * 16;
        t.assign((size_t)L * stride, 0);
        flip.assign(stride, 0);
        bias.assign(stride, 0);
        return false;
    }
    // Column j: a row of `levels` thresholds, negated or not, and a bias; false where a threshold is outside 32 bits.
    template <typename T>
    bool set(int j, const T* row, bool negate, long long b) {
        bool fits = true;
        for (int l = 0; l < levels; l++) {
            const long long v = (long long)row[l];
            fits = fits && v >= -2147483647LL - 1 && v <= 2147483647LL;
            t[(size_t)l * stride + j] = (int)v;
        }
        flip[j] = negate ? -1 : 0;
        bias[j] = (int)b;
        return fits;
    }
};

// Whether each of `rows` rows of L thresholds is ascending.
template <int L, typename T>
bool ascending(const T (*row)[L], int rows) {
    for (int r = 0; r < rows; r++) {
        for (int l = 1; l < L; l++) {
            if ((long long)row[r][l - 1] > (long long)row[r][l]) return false;
        }
    }
    return true;
}

// count[j] = the level count of column j's value x[j], for j < n rounded up to 16 (x and count hold that many;
// the columns past n are padding, their counts meaningless). Blocks of 16 columns: the loops vectorize.
inline void count_levels(const LevelTable& table, const int* __restrict x, int* __restrict count) {
    const int n = table.n, L = table.levels;
    const int* __restrict flip = table.flip.data();
    const int* __restrict levels = table.t.data();
    const int stride = table.stride;
    for (int j0 = 0; j0 < n; j0 += 16) {
        int y[16], c[16];
        for (int k = 0; k < 16; k++) {
            y[k] = (x[j0 + k] ^ flip[j0 + k]) - flip[j0 + k];
            c[k] = 0;
        }
        for (int l = 0; l < L; l++) {
            const int* __restrict t = levels + (size_t)l * stride + j0;
            for (int k = 0; k < 16; k++) c[k] += y[k] >= t[k] ? 1 : 0;
        }
        for (int k = 0; k < 16; k++) count[j0 + k] = c[k];
    }
}

// x wrapped to W bits as a value of type T stores it (signed: two's complement; else masked), in 32 bits: W <= 31.
template <typename T>
inline void wrap_all(int* __restrict x, int n) {
    const int W = T::width;
    if (T::is_signed) {
        for (int j = 0; j < n; j++) x[j] = (int)((unsigned)x[j] << (32 - W)) >> (32 - W);
    } else {
        for (int j = 0; j < n; j++) x[j] = (int)((unsigned)x[j] & ((1u << W) - 1));
    }
}

// One layer's converted weights, tied to the table they were read from and its generation.
struct Weights {
    long long generation = -1;
    const void* source = nullptr;
    bool usable = false;  // no tile can wrap in TS and every operand fits 16 bits
    bool wide = false;    // the dot product needs 64-bit sums
    double bound = 0;     // KG * max|w| * max|x|: no dot product's magnitude exceeds it
    // [G * OCG][KG]: output channel o = g * OCG + nf * PE + p, input k = sf * SIMD + s; depthwise [G][KG][PE]
    std::vector<short> w;
    // Not depthwise and not wide: [G][KP][OCP] pairs (pair()) of inputs 2 kp and 2 kp + 1 (0 past KG), KP = (KG +
    // 1) / 2, OCP = OCG rounded up to PAIR_COLUMNS (0 past OCG)
    std::vector<int> pairs;
    int kp = 0, ocp = 0;
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
    cache.bound = (double)KG * (double)w_max * (double)x_max;
    cache.wide = cache.bound >= 2147483648.0;
    if (!usable) cache.w.clear();
    cache.kp = (KG + 1) / 2;
    cache.ocp = (OCG + PAIR_COLUMNS - 1) / PAIR_COLUMNS * PAIR_COLUMNS;
    cache.pairs.assign(usable && !cache.wide && !C::dw ? (size_t)G * cache.kp * cache.ocp : 0, 0);
    for (int g = 0; g < G && !cache.pairs.empty(); g++) {
        for (int o = 0; o < OCG; o++) {
            const short* row = &cache.w[((size_t)g * OCG + o) * KG];
            for (int k = 0; k < KG; k += 2) {
                cache.pairs[((size_t)g * cache.kp + k / 2) * cache.ocp + o] = pair(row[k], k + 1 < KG ? row[k + 1] : 0);
            }
        }
    }
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
        for (int p = 0; p < C::pe && sorted; p++) sorted = ascending<C::levels>(t[p], C::g * (C::ocg / C::pe));
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
template <int L, typename T>
inline int count_sorted(const T* row, long long y) {  // #{l : row[l] <= y}, row ascending
    const T* b = row;
    int n = L;
    while (n > 1) {  // the answer is in [b - row, b - row + n]
        const int half = n / 2;
        b = (long long)b[half - 1] <= y ? b + half : b;
        n -= half;
    }
    return (int)(b - row) + ((long long)b[0] <= y ? 1 : 0);
}
template <typename C, typename TA>
inline typename C::out_t activate(const Thresholds<C>& act, const TA& sum, int p, int f, bool sorted) {
    if (!sorted) return act(sum, p, f);
    const long long y = act.negate[p][f] ? -sum.to_int64() : sum.to_int64();
    return typename C::out_t(C::base + count_sorted<C::levels>(act.t[p][f], y));
}
template <typename Act>
inline bool sorted_table(const Act&) {
    return false;
}
template <typename C>
inline bool sorted_table(const Thresholds<C>& act) {
    return sorted_rows<C>(act.t);
}

// A unit's fused thresholds as a LevelTable over its G * OCG channels (column f * PE + p, its bias beside), once per
// table and generation; null where the activation is not thresholds or the table is not usable: the outer
// accumulator TA wider than 30 bits (its negation must fit 32), bias + dot product possibly 2^31 or more, or a
// threshold outside 32 bits.
template <typename Act, typename Bias>
const LevelTable* mvu_levels(const Act&, const Bias&, const Weights&) {
    return nullptr;
}
// The output code of a level count (thresholds only).
template <typename Act>
int from_count(const Act&, int count) {
    return count;
}
template <typename C>
typename C::out_t from_count(const Thresholds<C>&, int count) {
    return typename C::out_t(C::base + count);
}
template <typename C>
const LevelTable* mvu_levels(const Thresholds<C>& act, const typename C::bias_t (*bias)[C::g * (C::ocg / C::pe)],
                             const Weights& layer) {
    static LevelTable cache;
    static std::mutex lock;
    std::lock_guard<std::mutex> hold(lock);
    const int PE = C::pe, F = C::g * (C::ocg / C::pe);
    if (!cache.current((const void*)act.t, C::levels, PE * F)) {
        bool usable = C::outer_t::width <= 30;
        double b_max = 0;
        for (int p = 0; p < PE && usable; p++) {
            for (int f = 0; f < F; f++) {
                const long long b = (long long)bias[p][f];
                b_max = std::max(b_max, (double)(b < 0 ? -b : b));
                usable = cache.set(f * PE + p, act.t[p][f], act.negate[p][f], b) && usable;
            }
        }
        cache.usable = usable && b_max + layer.bound < 2147483648.0;
    }
    return cache.usable ? &cache : nullptr;
}

// A standalone threshold unit's table as a LevelTable over a period of `period` words (a multiple of RPL that
// divides the frame's words, at least 64 elements where one does; column i * WIN + e: lane e of the period's word
// i, row i mod RPL), once per table and generation; null where not usable (inputs wider than 30 bits, a threshold
// outside 32 bits).
template <typename Count>
const LevelTable* lane_levels(const Count&) {
    return nullptr;
}
template <typename C>
const LevelTable* lane_levels(const LaneThresholds<C>& count) {
    static LevelTable cache;
    static std::mutex lock;
    std::lock_guard<std::mutex> hold(lock);
    const int WIN = C::win, RPL = C::rpl, WORDS = C::num / C::win;
    int reps = std::max(1, 64 / (WIN * RPL));
    while (reps > 1 && WORDS % (RPL * reps) != 0) reps--;
    if (!cache.current((const void*)count.t, C::levels, WIN * RPL * reps)) {
        bool usable = C::in_t::width <= 30 && WORDS % (RPL * reps) == 0;
        for (int e = 0; e < WIN && usable; e++) {
            for (int i = 0; i < RPL * reps; i++) {
                usable = cache.set(i * WIN + e, count.t[e][i % RPL], count.negate[e][i % RPL], 0) && usable;
            }
        }
        cache.usable = usable;
        cache.period = RPL * reps;
    }
    return cache.usable ? &cache : nullptr;
}

// A kernel's input words: in an untimed run the whole frame is in the stream before the kernel starts (kernels
// run one after another), and is read in place; in a timed run each word is read from the stream in its cycle.
template <typename T>
struct Reader {
    hls::stream<T>& in;
    const T* frame;  // null: timed
    size_t words;
    Reader(hls::stream<T>& s, size_t n) : in(s), frame(s.peek(n)), words(n) {}
    T next() {
        if (frame) return *frame++;
        FPGAQ_CYCLE();
        return in.read();
    }
    void done() {
        if (frame) in.consume(words);
    }
};

// Its output words: appended in place in an untimed run, written one by one in a timed one.
template <typename T>
struct Writer {
    hls::stream<T>& out;
    T* next_word;
    Writer(hls::stream<T>& s, size_t n, bool whole) : out(s), next_word(whole ? s.append(n) : nullptr) {}
    void put(const T& word) {
        if (next_word) {
            *next_word++ = word;
        } else {
            out.write(word);
        }
    }
    T* take(size_t n) {  // the next n words in place (untimed)
        T* words = next_word;
        next_word += n;
        return words;
    }
};

// One frame of mvu_body's unit; false (nothing read) where the loop of mvu_body must run.
template <typename C, typename Act>
bool mvu(hls::stream<Vec<typename C::in_t, C::in_w> >& in, hls::stream<Vec<typename C::out_t, C::pe> >& out,
         const typename C::weight_t w[][C::pe * C::simd], const typename C::bias_t bias[C::pe][C::g * (C::ocg / C::pe)],
         const Act& act) {
    const Weights& layer = weights<C>(w);
    if (!layer.usable) return false;
    const bool sorted = sorted_table(act);
    typedef typename C::outer_t TA;
    typedef Vec<typename C::in_t, C::in_w> In;
    typedef Vec<typename C::out_t, C::pe> Out;
    const int NV = C::nv, G = C::g, SIMD = C::simd, PE = C::pe, KG = C::kg, OCG = C::ocg;
    const int SF = KG / SIMD, NF = OCG / PE;
    Reader<In> reader(in, (size_t)NV * G * SF);
    const bool whole = reader.frame != nullptr;
    Writer<Out> writer(out, (size_t)NV * G * NF, whole);
    // In a timed run the clock advances as in mvu_body, one cycle per fold: each word is read in its own cycle
    // (the first neuron fold's), and the other neuron folds' SF cycles pass at once before their output is
    // written (no stream access among them, so nothing else can happen in them).
    if (C::dw && whole && !layer.wide) {  // a pixel's G * PE channels side by side, their counts at once
        // A pixel's words are its elements [G][KG][PE] in a row of the frame, as the weights [G][KG][PE] are.
        static_assert(sizeof(In) == C::in_w * sizeof(typename C::in_t), "a stream word is its elements");
        static_assert(sizeof(Out) == C::pe * sizeof(typename C::out_t), "a stream word is its elements");
        const int CH = G * PE;
        const LevelTable* levels = mvu_levels(act, bias, layer);
        std::vector<short> x((size_t)G * KG * PE);
        std::vector<int> sum(CH + 16), counts(CH + 16);  // + 16: count_levels' padding
        const short* __restrict w_all = layer.w.data();
        for (int v = 0; v < NV; v++) {
            const typename C::in_t* e = reinterpret_cast<const typename C::in_t*>(&reader.frame[(size_t)v * G * SF]);
            for (int i = 0; i < G * KG * PE; i++) x[i] = (short)e[i].to_int64();
            for (int g = 0; g < G; g++) {
                const short* __restrict wg = w_all + (size_t)g * KG * PE;
                const short* __restrict xg = x.data() + (size_t)g * KG * PE;
                int acc[C::pe];
                for (int p = 0; p < PE; p++) acc[p] = 0;
                for (int k = 0; k < KG; k++) {
                    for (int p = 0; p < PE; p++) acc[p] += (int)wg[k * PE + p] * (int)xg[k * PE + p];
                }
                for (int p = 0; p < PE; p++) sum[g * PE + p] = acc[p];
            }
            if (levels) {
                for (int c = 0; c < CH; c++) sum[c] += levels->bias[c];
                wrap_all<TA>(sum.data(), CH);
                count_levels(*levels, sum.data(), counts.data());
                typename C::out_t* o = reinterpret_cast<typename C::out_t*>(writer.take(G));  // channel g * PE + p
                for (int c = 0; c < CH; c++) o[c] = typename C::out_t(from_count(act, counts[c]));
                continue;
            }
            for (int g = 0; g < G; g++) {
                Out result;
                for (int p = 0; p < PE; p++) result.v[p] = activate(act, TA((long long)bias[p][g] + sum[g * PE + p]), p, g, sorted);
                writer.put(result);
            }
        }
        reader.done();
        return true;
    }
    if (C::dw) {  // G blocks of PE channels, NF = 1: word sf's element s * PE + p is position sf * SIMD + s of lane p
        std::vector<short> x(KG * PE);
        std::vector<long long> sum(PE);
        for (int v = 0; v < NV; v++) {
            for (int g = 0; g < G; g++) {
                for (int sf = 0; sf < SF; sf++) {
                    const In word = reader.next();
                    for (int e = 0; e < SIMD * PE; e++) x[sf * SIMD * PE + e] = (short)word.v[e].to_int64();
                }
                const short* wg = &layer.w[(size_t)g * KG * PE];
                if (layer.wide) {
                    lanes<long long>(wg, x.data(), KG, PE, sum.data());
                } else {
                    lanes<int>(wg, x.data(), KG, PE, sum.data());
                }
                Out result;
                for (int p = 0; p < PE; p++) result.v[p] = activate(act, TA((long long)bias[p][g] + sum[p]), p, g, sorted);
                writer.put(result);
            }
        }
        reader.done();
        return true;
    }
    if (layer.wide) {  // 64-bit sums: a dot product per output
        std::vector<short> x(KG);
        for (int v = 0; v < NV; v++) {
            for (int g = 0; g < G; g++) {
                for (int sf = 0; sf < SF; sf++) {
                    const In word = reader.next();
                    for (int s = 0; s < SIMD; s++) x[sf * SIMD + s] = (short)word.v[s].to_int64();
                }
                for (int nf = 0; nf < NF; nf++) {
                    if (nf > 0) FPGAQ_CYCLES(SF);
                    const int f = g * NF + nf;
                    Out result;
                    for (int p = 0; p < PE; p++) {
                        const short* row = &layer.w[((size_t)g * OCG + nf * PE + p) * KG];
                        result.v[p] = activate(act, TA((long long)bias[p][f] + dot<long long>(row, x.data(), KG)), p, f, sorted);
                    }
                    writer.put(result);
                }
            }
        }
        reader.done();
        return true;
    }
    // 32-bit sums over the pair table: blocks of CH pixels (one in a timed run, where group g's outputs are written
    // before group g + 1's words are read) as one matrix product per group.
    static_assert(sizeof(In) == C::in_w * sizeof(typename C::in_t), "a stream word is its elements");
    static_assert(sizeof(Out) == C::pe * sizeof(typename C::out_t), "a stream word is its elements");
    const int KP = layer.kp, OCP = layer.ocp, CH = whole ? 64 : 1;
    std::vector<short> row(2 * KP);  // one pixel's inputs of one group, a 0 past KG
    std::vector<int> x((size_t)CH * KP), y((size_t)CH * G * OCG + 16), counts(G * OCG + 16);  // + 16: count_levels'
    const In* frame = reader.frame;
    const LevelTable* levels = whole ? mvu_levels(act, bias, layer) : nullptr;
    for (int v0 = 0; v0 < NV; v0 += CH) {
        const int n = std::min(CH, NV - v0);
        for (int g = 0; g < G; g++) {
            for (int i = 0; i < n; i++) {
                if (whole) {  // the pixel's group: KG elements in a row of the frame (a word is its elements)
                    const typename C::in_t* e = reinterpret_cast<const typename C::in_t*>(&frame[((size_t)(v0 + i) * G + g) * SF]);
                    for (int k = 0; k < KG; k++) row[k] = (short)e[k].to_int64();
                } else {
                    for (int sf = 0; sf < SF; sf++) {
                        const In word = reader.next();
                        for (int s = 0; s < SIMD; s++) row[sf * SIMD + s] = (short)word.v[s].to_int64();
                    }
                }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                std::memcpy(&x[(size_t)i * KP], row.data(), (size_t)KP * sizeof(int));  // pair(lo, hi)'s bytes
#else
                for (int k = 0; k < KP; k++) x[(size_t)i * KP + k] = pair(row[2 * k], row[2 * k + 1]);
#endif
            }
            gemm(&layer.pairs[(size_t)g * KP * OCP], KP, OCP, OCG, x.data(), KP, n, &y[g * OCG], G * OCG);
            for (int i = 0; i < n && !whole; i++) {  // timed: this group's outputs now
                for (int nf = 0; nf < NF; nf++) {
                    if (nf > 0) FPGAQ_CYCLES(SF);
                    const int f = g * NF + nf;
                    Out result;
                    for (int p = 0; p < PE; p++) result.v[p] = activate(act, TA((long long)bias[p][f] + y[((size_t)i * G + g) * OCG + nf * PE + p]), p, f, sorted);
                    writer.put(result);
                }
            }
        }
        for (int i = 0; i < n && whole; i++) {
            int* yi = &y[(size_t)i * G * OCG];
            if (levels) {  // every channel's count at once: bias added and stored into TA (wrapped), thresholds
                for (int j = 0; j < G * OCG; j++) yi[j] += levels->bias[j];
                wrap_all<TA>(yi, G * OCG);
                count_levels(*levels, yi, counts.data());
                // the pixel's G * NF output words are its channels in order: word f's element p is f * PE + p
                typename C::out_t* o = reinterpret_cast<typename C::out_t*>(writer.take(G * NF));
                for (int j = 0; j < G * OCG; j++) o[j] = typename C::out_t(from_count(act, counts[j]));
                continue;
            }
            for (int f = 0; f < G * NF; f++) {  // f = g * NF + nf: channels f * PE .. f * PE + PE - 1
                Out result;
                for (int p = 0; p < PE; p++) result.v[p] = activate(act, TA((long long)bias[p][f] + yi[f * PE + p]), p, f, sorted);
                writer.put(result);
            }
        }
    }
    reader.done();
    return true;
}

// One frame of swg's window words, read in place from the whole frame; false where swg's loop must run (a timed
// run, or a frame not all there).
template <typename P>
bool swg(hls::stream<Vec<typename P::elem_t, P::simd> >& in, hls::stream<Vec<typename P::elem_t, P::simd> >& out,
         const typename P::elem_t pad) {
    typedef Vec<typename P::elem_t, P::simd> Word;
    const int H = P::h, W = P::w, KH = P::kh, KW = P::kw, SH = P::sh, SW = P::sw, DH = P::dh, DW = P::dw;
    const int PT = P::pt, PL = P::pl, OH = P::oh, OW = P::ow, G = P::groups, CW = P::c / P::simd;
    const int CGW = CW / G;
    const Word* frame = in.peek((size_t)H * W * CW);
    if (!frame) return false;
    Word* o = out.append((size_t)OH * OW * G * KH * KW * CGW);
    Word padding;
    for (int s = 0; s < P::simd; s++) padding.v[s] = pad;
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            for (int g = 0; g < G; g++) {
                for (int kh = 0; kh < KH; kh++) {
                    const int ih = oh * SH - PT + kh * DH;
                    for (int kw = 0; kw < KW; kw++) {
                        const int iw = ow * SW - PL + kw * DW;
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
                            std::copy_n(&frame[((size_t)ih * W + iw) * CW + g * CGW], CGW, o);
                        } else {
                            std::fill_n(o, CGW, padding);
                        }
                        o += CGW;
                    }
                }
            }
        }
    }
    in.consume((size_t)H * W * CW);
    return true;
}

// dwc's frame: the same NUM elements in words of OUT_W (each converted to out_t as dwc converts it).
template <typename C>
bool dwc(hls::stream<Vec<typename C::in_t, C::in_w> >& in, hls::stream<Vec<typename C::out_t, C::out_w> >& out) {
    typedef typename C::in_t TI;
    typedef typename C::out_t TO;
    const int NUM = C::num, IN_W = C::in_w, OUT_W = C::out_w;
    const Vec<TI, IN_W>* x = in.peek(NUM / IN_W);
    if (!x) return false;
    Vec<TO, OUT_W>* y = out.append(NUM / OUT_W);
    if (std::is_same<TI, TO>::value) {  // the words' bytes are the elements' bytes in order (no padding in a Vec)
        static_assert(sizeof(Vec<TI, IN_W>) == IN_W * sizeof(TI) && sizeof(Vec<TO, OUT_W>) == OUT_W * sizeof(TO),
                      "a stream word is its elements");
        std::memcpy((void*)y, (const void*)x, (size_t)NUM * sizeof(TI));
    } else {
        for (int i = 0; i < NUM; i++) y[i / OUT_W].v[i % OUT_W] = TO(x[i / IN_W].v[i % IN_W]);
    }
    in.consume(NUM / IN_W);
    return true;
}

// fork2's frame: every word to both outputs.
template <typename C>
bool fork2(hls::stream<Vec<typename C::elem_t, C::win> >& in, hls::stream<Vec<typename C::elem_t, C::win> >& out0,
           hls::stream<Vec<typename C::elem_t, C::win> >& out1) {
    const Vec<typename C::elem_t, C::win>* x = in.peek(C::words);
    if (!x) return false;
    std::copy_n(x, C::words, out0.append(C::words));
    std::copy_n(x, C::words, out1.append(C::words));
    in.consume(C::words);
    return true;
}

// add's frame, element by element as add computes it.
template <typename C>
bool add(hls::stream<Vec<typename C::a_t, C::win> >& a, hls::stream<Vec<typename C::b_t, C::win> >& b,
         hls::stream<Vec<typename C::out_t, C::win> >& out) {
    typedef typename C::out_t TO;
    const int WORDS = C::num / C::win, WIN = C::win;
    const Vec<typename C::a_t, C::win>* x = a.peek(WORDS);
    const Vec<typename C::b_t, C::win>* y = b.peek(WORDS);
    if (!x || !y) return false;
    Vec<TO, C::win>* z = out.append(WORDS);
    const typename C::m0_t m0 = C::m0;
    const typename C::m1_t m1 = C::m1;
    for (int i = 0; i < WORDS; i++) {
        for (int e = 0; e < WIN; e++) z[i].v[e] = TO(m0 * x[i].v[e] + m1 * y[i].v[e]);
    }
    a.consume(WORDS);
    b.consume(WORDS);
    return true;
}

// Whether every row of a standalone threshold table is sorted ascending, once per table.
template <typename C>
bool sorted_lane_rows(const typename C::thr_t (*t)[C::rpl][C::levels]) {
    static const void* checked = nullptr;
    static bool sorted = false;
    static std::mutex lock;
    std::lock_guard<std::mutex> hold(lock);
    if (checked != (const void*)t) {
        sorted = true;
        for (int e = 0; e < C::win && sorted; e++) sorted = ascending<C::levels>(t[e], C::rpl);
        checked = (const void*)t;
    }
    return sorted;
}

// The level count of a standalone unit's lane e at row r: the unit's own, or for thresholds in sorted rows
// activate's binary search.
template <typename Count, typename TX>
inline unsigned lane_count(const Count& count, int e, int r, const TX& x, bool) {
    return count(e, r, x);
}
template <typename C, typename TX>
inline unsigned lane_count(const LaneThresholds<C>& count, int e, int r, const TX& x, bool sorted) {
    if (!sorted) return count(e, r, x);
    const long long y = count.negate[e][r] ? -x.to_int64() : x.to_int64();
    return (unsigned)count_sorted<C::levels>(count.t[e][r], y);
}
template <typename Count>
inline bool sorted_lanes(const Count&) {
    return false;
}
template <typename C>
inline bool sorted_lanes(const LaneThresholds<C>& count) {
    return sorted_lane_rows<C>(count.t);
}

// lanes_body's frame (standalone thresholds and requantizers).
template <typename C, typename Count>
bool lanes_body(hls::stream<Vec<typename C::in_t, C::win> >& in, hls::stream<Vec<typename C::out_t, C::win> >& out,
                const Count& count) {
    typedef typename C::out_t TO;
    const int WORDS = C::num / C::win, WIN = C::win, RPL = C::rpl;
    const Vec<typename C::in_t, C::win>* x = in.peek(WORDS);
    if (!x) return false;
    Vec<TO, C::win>* y = out.append(WORDS);
    const LevelTable* levels = lane_levels(count);
    if (levels) {  // a period of words at once
        const int PERIOD = levels->period;
        std::vector<int> values(levels->stride), counts(levels->stride);
        for (int i = 0; i < WORDS; i += PERIOD) {
            for (int r = 0; r < PERIOD; r++) {
                for (int e = 0; e < WIN; e++) values[r * WIN + e] = (int)x[i + r].v[e].to_int64();
            }
            count_levels(*levels, values.data(), counts.data());
            for (int r = 0; r < PERIOD; r++) {
                for (int e = 0; e < WIN; e++) y[i + r].v[e] = TO(C::base + counts[r * WIN + e]);
            }
        }
        in.consume(WORDS);
        return true;
    }
    const bool sorted = sorted_lanes(count);
    int r = 0;
    for (int i = 0; i < WORDS; i++) {
        for (int e = 0; e < WIN; e++) y[i].v[e] = TO(C::base + (int)lane_count(count, e, r, x[i].v[e], sorted));
        r = r + 1 == RPL ? 0 : r + 1;
    }
    in.consume(WORDS);
    return true;
}

// unpack_axis's frame where an AXI-Stream word is at most 64 bits: element e is bits [e * BITS, e * BITS + BITS) of
// the word, stored into elem_t as unpack_axis stores the same bits (two's complement where signed).
template <typename C>
bool unpack_axis(hls::stream<ap_uint<C::word> >& in, hls::stream<Vec<typename C::elem_t, C::pack> >& out) {
    typedef typename C::elem_t T;
    const int WORDS = C::num / C::pack, PACK = C::pack, BITS = C::bits;
    if (C::word > 64) return false;
    const ap_uint<C::word>* x = in.peek(WORDS);
    if (!x) return false;
    Vec<T, C::pack>* y = out.append(WORDS);
    const unsigned long long mask = BITS >= 64 ? ~0ULL : (1ULL << BITS) - 1;
    for (int i = 0; i < WORDS; i++) {
        const unsigned long long word = x[i].to_uint64();
        for (int e = 0; e < PACK; e++) y[i].v[e] = T((long long)((word >> (e * BITS)) & mask));
    }
    in.consume(WORDS);
    return true;
}

// maxpool's frame: the windows' words in place, the maximum of each window's words inside the frame.
template <typename P>
bool maxpool(hls::stream<Vec<typename P::in_t, P::lanes> >& in, hls::stream<Vec<typename P::out_t, P::lanes> >& out,
             const signed char sign[P::lanes][P::c / P::lanes]) {
    typedef typename P::out_t TO;
    typedef typename Negatable<typename P::in_t>::type TN;
    const int H = P::h, W = P::w, KH = P::kh, KW = P::kw, SH = P::sh, SW = P::sw, DH = P::dh, DW = P::dw;
    const int OH = P::oh, OW = P::ow, L = P::lanes, G = P::c / P::lanes;
    const int WORDS = OH * OW * G * KH * KW;
    const Vec<typename P::in_t, P::lanes>* x = in.peek(WORDS);
    if (!x) return false;
    Vec<TO, P::lanes>* y = out.append(OH * OW * G);
    long long best[L];  // kept from window to window, as maxpool's registers are
    for (int e = 0; e < L; e++) best[e] = 0;
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            for (int g = 0; g < G; g++) {
                bool any = false;
                for (int kh = 0; kh < KH; kh++) {
                    const int ih = oh * SH - P::pt + kh * DH;
                    for (int kw = 0; kw < KW; kw++, x++) {
                        const int iw = ow * SW - P::pl + kw * DW;
                        if (!(ih >= 0 && ih < H && iw >= 0 && iw < W)) continue;
                        for (int e = 0; e < L; e++) {
                            const long long v = sign[e][g] < 0 ? -x->v[e].to_int64() : x->v[e].to_int64();
                            best[e] = !any || v > best[e] ? v : best[e];
                        }
                        any = true;
                    }
                }
                for (int e = 0; e < L; e++) y->v[e] = TO(TN(sign[e][g] < 0 ? -best[e] : best[e]));
                y++;
            }
        }
    }
    in.consume(WORDS);
    return true;
}

}  // namespace fast
}  // namespace fpgaq

#endif
